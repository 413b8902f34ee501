// One client for the whole app, typed by the api schema: every `from()` and `rpc()` below
// is checked against types/ (generated from the database by `flagship reference types`).
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { Database } from '../../../types/index.js';

export type Api = SupabaseClient<Database>;

export function connect(url: string, anonKey: string, accessToken?: string): Api {
  return createClient<Database>(url, anonKey, {
    db: { schema: 'api' }, // the only exposed schema
    auth: { persistSession: false },
    global: { headers: accessToken ? { Authorization: `Bearer ${accessToken}` } : {} },
  });
}
