import type { Api } from './client.js';

export async function plans(api: Api) {
  const { data, error } = await api.from('billing_plans').select('*');
  if (error) throw error;
  return data;
}

export async function assignSeat(api: Api, subscriptionId: string, userId: string) {
  const { error } = await api.rpc('billing_assign_seat', {
    p_subscription_id: subscriptionId,
    p_user_id: userId,
  });
  if (error) throw error;
}
