-- Development seed: a few users, one per global role. Re-runnable (on conflict do nothing).
-- Each signs in with the password `flagship-<username>-1` (listed in the README and by
-- `make up`); the hashes are bcrypt, cost 10, as Supabase Auth stores them.
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

update auth.users as u set encrypted_password = v.hash
from (
    values
    (
        '00000000-0000-4000-a000-000000000001'::uuid,
        '$2a$10$.8Z9UC0fE44Tj3V0pXpl6uR818PoKJtDgmil82KHQfWwrTkTSjgdy'
    ),
    (
        '00000000-0000-4000-a000-000000000002'::uuid,
        '$2a$10$g1VjLabyQ8KxCUO6U6XYtu7zBla/dsAKrJxBJVyD4hkccchFbFqB2'
    ),
    (
        '00000000-0000-4000-a000-000000000003'::uuid,
        '$2a$10$02182HsIyBqe2NmVhdd.U.G210x7F/OkPvW4tuUybfD2GzaXpg/Ym'
    ),
    (
        '00000000-0000-4000-a000-000000000004'::uuid,
        '$2a$10$fGgSulRcciF8B9y7kGXxCuotlDLs5aGYN4h3USbKraSLYPXNs5COC'
    ),
    (
        '00000000-0000-4000-a000-000000000005'::uuid,
        '$2a$10$cAP6MGPaUqJWzCo9yoYsgudHgASCzrzK216.VZAaEsypJJJU7MOjK'
    )
) as v (id, hash)
where u.id = v.id and u.encrypted_password is null;

-- Their email identities, as Supabase Auth keeps one per sign-in method.
insert into auth.identities (
    provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at
)
select
    u.id::text as provider_id,
    u.id as user_id,
    jsonb_build_object(
        'sub', u.id::text, 'email', u.email, 'email_verified', true,
        'phone_verified', false
    ) as identity_data,
    'email' as provider,
    now() as last_sign_in_at,
    now() as created_at,
    now() as updated_at
from auth.users as u
where
    u.id in (
        '00000000-0000-4000-a000-000000000001', '00000000-0000-4000-a000-000000000002',
        '00000000-0000-4000-a000-000000000003', '00000000-0000-4000-a000-000000000004',
        '00000000-0000-4000-a000-000000000005'
    )
on conflict (provider_id, provider) do nothing;

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
