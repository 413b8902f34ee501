import type { Api } from './client.js';

export async function challenges(api: Api, eventId: string) {
  const { data, error } = await api.rpc('ctf_list_challenges', { p_event_id: eventId });
  if (error) throw error;
  return data.filter((c) => !c.solved).map((c) => ({ title: c.title, value: c.value }));
}

/** Submit a flag: the result is the declared `CtfSubmitResult`, not `Json`. */
export async function submit(api: Api, challengeId: string, flag: string) {
  const { data, error } = await api.rpc('ctf_submit', { p_challenge_id: challengeId, p_flag: flag });
  if (error) throw error;
  const verdict: 'correct' | 'partial' | 'incorrect' | 'already_solved' | 'shared_flag' = data.status;
  return { verdict, points: data.points };
}

export async function teams(api: Api, eventId: string) {
  const { data, error } = await api.from('ctf_teams').select('id, name').eq('event_id', eventId);
  if (error) throw error;
  return data;
}
