import type { Api } from './client.js';

export async function categories(api: Api) {
  const { data, error } = await api.from('community_forum_categories').select('id, name');
  if (error) throw error;
  return data;
}

export async function threads(api: Api, categoryId: number) {
  const { data, error } = await api.rpc('community_list_threads', {
    p_category_id: categoryId,
    p_limit: 10,
  });
  if (error) throw error;
  return data.map((t) => ({ id: t.id, title: t.title, posts: t.post_count }));
}

export async function startThread(api: Api, categoryId: number, title: string, body: string) {
  const { data, error } = await api.rpc('community_create_thread', {
    p_category_id: categoryId,
    p_title: title,
    p_body: body,
  });
  if (error) throw error;
  const threadId: number = data;
  return threadId;
}
