import type { Api } from './client.js';

/** A public profile by username (the view's row type, narrowed by `select`). */
export async function profile(api: Api, username: string) {
  const { data, error } = await api
    .from('accounts_profiles')
    .select('id, username, display_name')
    .eq('username', username)
    .maybeSingle();
  if (error) throw error;
  return data; // { id: string | null; username: string | null; display_name: string | null } | null
}

/** Search users (a set-returning function: rows typed by its `returns table`). */
export async function searchUsers(api: Api, query: string) {
  const { data, error } = await api.rpc('accounts_search_users', { p_query: query });
  if (error) throw error;
  return data.map((u) => u.username);
}

/** The caller's account: a jsonb function, typed by its declared result. */
export async function me(api: Api) {
  const { data, error } = await api.rpc('accounts_get_my_account');
  if (error) throw error;
  return { id: data.id, roles: data.roles.join(', ') };
}
