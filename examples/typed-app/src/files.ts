import type { Api } from './client.js';

/** The files of a CTF challenge (the files domain keeps its objects in Storage; its views
 * of record live with their owners). */
export async function challengeFiles(api: Api, challengeId: string) {
  const { data, error } = await api
    .from('ctf_challenge_files')
    .select('*')
    .eq('challenge_id', challengeId);
  if (error) throw error;
  return data;
}

export async function myUsage(api: Api) {
  const { data, error } = await api.rpc('files_get_my_usage');
  if (error) throw error;
  return data;
}
