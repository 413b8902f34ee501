-- Development seed: a few users, one per global role. Re-runnable (on conflict do nothing).
-- Passwords are not set: sign in locally with `flagship token <email>`.
insert into auth.users (
    id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data
)
values
(
    '00000000-0000-4000-a000-000000000001', 'authenticated', 'authenticated',
    'admin@flagship.test', now(), '{"provider": "email", "providers": ["email"]}',
    '{"username": "ada", "display_name": "Ada Admin"}'
),
(
    '00000000-0000-4000-a000-000000000002', 'authenticated', 'authenticated',
    'instructor@flagship.test', now(), '{"provider": "email", "providers": ["email"]}',
    '{"username": "ines", "display_name": "Ines Instructor"}'
),
(
    '00000000-0000-4000-a000-000000000003', 'authenticated', 'authenticated',
    'moderator@flagship.test', now(), '{"provider": "email", "providers": ["email"]}',
    '{"username": "moe", "display_name": "Moe Moderator"}'
),
(
    '00000000-0000-4000-a000-000000000004', 'authenticated', 'authenticated',
    'alice@flagship.test', now(), '{"provider": "email", "providers": ["email"]}',
    '{"username": "alice", "display_name": "Alice Learner"}'
),
(
    '00000000-0000-4000-a000-000000000005', 'authenticated', 'authenticated',
    'bob@flagship.test', now(), '{"provider": "email", "providers": ["email"]}',
    '{"username": "bob", "display_name": "Bob Player"}'
)
on conflict (id) do nothing;

insert into accounts.user_roles (user_id, role)
values
('00000000-0000-4000-a000-000000000001', 'admin'),
('00000000-0000-4000-a000-000000000002', 'instructor'),
('00000000-0000-4000-a000-000000000003', 'moderator')
on conflict (user_id, role) do nothing;

update accounts.profiles set visibility = 'public'
where id in (
    '00000000-0000-4000-a000-000000000001',
    '00000000-0000-4000-a000-000000000002',
    '00000000-0000-4000-a000-000000000003'
);
