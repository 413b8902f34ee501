import type { Api } from './client.js';

export async function conversations(api: Api) {
  const { data, error } = await api.from('ai_my_conversations').select('*').limit(20);
  if (error) throw error;
  return data;
}

export async function search(api: Api, query: string) {
  const { data, error } = await api.rpc('ai_search', { p_query: query, p_limit: 5 });
  if (error) throw error;
  return data.map((hit) => ({ title: hit.title, score: hit.score }));
}
