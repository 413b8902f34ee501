// /auth/v1 through the real @supabase/supabase-js against the local gateway.
// Usage: node tests/js/auth.mjs <step>; SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_KEY
// and STATE (JSON: email, password, token_hash ... from tests/gateway/test_auth_supabase_js.py,
// which reads the emails from the mailbox between steps) come from the environment. Prints one
// JSON document with what each call returned; pytest asserts on it.
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';

const URL = process.env.SUPABASE_URL;
const ANON = process.env.SUPABASE_ANON_KEY;
const SERVICE = process.env.SUPABASE_SERVICE_KEY;
const state = JSON.parse(process.env.STATE || '{}');

function client(key = ANON) {
  return createClient(URL, key, {
    db: { schema: 'api' },
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: WebSocket },
  });
}
const err = (e) => (e ? { name: e.name, status: e.status, code: e.code, message: e.message, reasons: e.reasons } : null);
const claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

const steps = {
  // Sign up (confirmations on): no session yet, the email goes to the mailbox.
  async signup() {
    const c = client();
    const weak = await c.auth.signUp({ email: state.email, password: 'abc' });
    const up = await c.auth.signUp({
      email: state.email,
      password: state.password,
      options: { data: { display_name: 'Jess' }, emailRedirectTo: 'http://127.0.0.1:3000/welcome' },
    });
    const early = await c.auth.signInWithPassword({ email: state.email, password: state.password });
    return {
      weak_error: err(weak.error),
      user: up.data.user, session: up.data.session, signup_error: err(up.error),
      early_error: err(early.error),
    };
  },

  // Confirm with the mailed token hash, then the whole session life cycle.
  async session() {
    const c = client();
    const verified = await c.auth.verifyOtp({ token_hash: state.token_hash, type: 'signup' });
    const wrong = await c.auth.signInWithPassword({ email: state.email, password: 'not-the-password-1' });
    const signin = await c.auth.signInWithPassword({ email: state.email, password: state.password });
    const first = signin.data.session;
    const user = await c.auth.getUser();
    const updated = await c.auth.updateUser({ data: { theme: 'dark' } });
    const refreshed = await c.auth.refreshSession();
    const second = refreshed.data.session;
    const third = (await c.auth.refreshSession()).data.session;
    // Reusing the first refresh token (no longer the active one's parent) after the reuse
    // interval (0 s in this test) revokes the session's family: the current token dies too.
    await new Promise((r) => setTimeout(r, 1100));
    const reuse = await client().auth.refreshSession({ refresh_token: first.refresh_token });
    const afterReuse = await client().auth.refreshSession({ refresh_token: third.refresh_token });
    const again = await c.auth.signInWithPassword({ email: state.email, password: state.password });
    const out = await c.auth.signOut();
    const gone = await client().auth.refreshSession({ refresh_token: again.data.session.refresh_token });
    return {
      verify_error: err(verified.error), verified_user: verified.data.user,
      wrong_error: err(wrong.error),
      signin_error: err(signin.error), claims: claims(first.access_token),
      expires_in: first.expires_in, expires_at: first.expires_at, token_type: first.token_type,
      user: user.data.user, updated_meta: updated.data.user?.user_metadata,
      refresh_error: err(refreshed.error), rotated: second.refresh_token !== first.refresh_token,
      reuse_error: err(reuse.error), after_reuse_error: err(afterReuse.error),
      signout_error: err(out.error), gone_error: err(gone.error),
    };
  },

  async recover() {
    const c = client();
    const sent = await c.auth.resetPasswordForEmail(state.email, { redirectTo: 'http://127.0.0.1:3000/reset' });
    return { error: err(sent.error), data: sent.data };
  },

  async reset() {
    const c = client();
    const verified = await c.auth.verifyOtp({ token_hash: state.token_hash, type: 'recovery' });
    const same = await c.auth.updateUser({ password: state.password });
    const changed = await c.auth.updateUser({ password: state.new_password });
    const signin = await client().auth.signInWithPassword({ email: state.email, password: state.new_password });
    return {
      verify_error: err(verified.error), same_error: err(same.error), change_error: err(changed.error),
      signin_error: err(signin.error),
    };
  },

  async admin() {
    const service = client(SERVICE);
    const created = await service.auth.admin.createUser({
      email: state.admin_email, password: state.password, email_confirm: true,
      app_metadata: { plan: 'pro' },
    });
    const id = created.data.user?.id;
    const got = await service.auth.admin.getUserById(id);
    const upd = await service.auth.admin.updateUserById(id, { user_metadata: { nick: 'ad' } });
    const list = await service.auth.admin.listUsers({ page: 1, perPage: 2 });
    const link = await service.auth.admin.generateLink({ type: 'recovery', email: state.admin_email });
    const invite = await service.auth.admin.inviteUserByEmail(state.invite_email);
    const anonList = await client().auth.admin.listUsers();
    const del = await service.auth.admin.deleteUser(id);
    const afterDel = await service.auth.admin.getUserById(id);
    return {
      create_error: err(created.error), app_metadata: created.data.user?.app_metadata,
      got_email: got.data.user?.email, nick: upd.data.user?.user_metadata?.nick,
      list_count: list.data?.users?.length, list_total: list.data?.total, list_error: err(list.error),
      link_type: link.data?.properties?.verification_type, link_error: err(link.error),
      action_link: link.data?.properties?.action_link,
      invited_at: invite.data?.user?.invited_at, invite_error: err(invite.error),
      anon_error: err(anonList.error), delete_error: err(del.error), after_delete_error: err(afterDel.error),
    };
  },
};

const step = steps[process.argv[2]];
if (!step) {
  console.error(`unknown step ${process.argv[2]}`);
  process.exit(2);
}
console.log(JSON.stringify(await step()));
