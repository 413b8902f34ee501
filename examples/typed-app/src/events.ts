import type { Api } from './client.js';

export async function topics(api: Api) {
  const { data, error } = await api.from('events_catalogue').select('*');
  if (error) throw error;
  return data;
}

export async function createEndpoint(api: Api, url: string, topics: string[]) {
  const { data, error } = await api.rpc('events_create_endpoint', { p_url: url, p_topics: topics });
  if (error) throw error;
  return data;
}
