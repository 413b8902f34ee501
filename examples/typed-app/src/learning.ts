import type { Api } from './client.js';

export async function courses(api: Api, tag: string) {
  const { data, error } = await api
    .from('learning_courses')
    .select('id, title, level')
    .contains('tags', [tag])
    .order('title');
  if (error) throw error;
  return data.map((c) => `${c.title ?? ''} (${c.level ?? '?'})`);
}

export async function catalogue(api: Api) {
  const { data, error } = await api.rpc('learning_list_courses', { p_limit: 20, p_sort: 'rating' });
  if (error) throw error;
  return data.map((c) => ({ id: c.id, title: c.title, hours: c.estimated_hours }));
}

/** Enroll: a jsonb function, typed by its declared result (`LearningEnrollResult`). */
export async function enroll(api: Api, courseId: string) {
  const { data, error } = await api.rpc('learning_enroll', { p_course_id: courseId });
  if (error) throw error;
  const status: 'active' | 'completed' = data.status;
  return { status, progress: data.progress_pct };
}
