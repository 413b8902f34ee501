import type { Api } from './client.js';

export async function challenges(api: Api, eventId: string) {
  const { data, error } = await api.rpc('ctf_list_challenges', { p_event_id: eventId });
  if (error) throw error;
  return data.filter((c) => !c.solved).map((c) => ({ title: c.title, value: c.value }));
}

/** Submit a flag: the result is the declared `CtfSubmitResult` (a union on `status`), not
 * `Json`, so each outcome's fields are there only once the outcome is known. */
export async function submit(api: Api, challengeId: string, flag: string) {
  const { data, error } = await api.rpc('ctf_submit', { p_challenge_id: challengeId, p_flag: flag });
  if (error) throw error;
  switch (data.status) {
    case 'correct':
      return `+${data.points} points${data.first_blood ? ' (first blood)' : ''}`;
    case 'partial':
      return `${data.flags_found}/${data.flags_total} flags`;
    case 'incorrect':
    case 'shared_flag':
      return data.attempts_left === null ? 'wrong' : `wrong, ${data.attempts_left} left`;
    case 'already_solved':
      return 'already solved';
  }
}

export async function teams(api: Api, eventId: string) {
  const { data, error } = await api.from('ctf_teams').select('id, name').eq('event_id', eventId);
  if (error) throw error;
  return data;
}
