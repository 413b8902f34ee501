// Client journeys through the real @supabase/supabase-js against the local gateway.
// Usage: node tests/js/journeys.mjs <journey>; SUPABASE_URL, SUPABASE_ANON_KEY and SCENE
// (JSON from tests/rest/journeys.py) come from the environment. Prints one JSON document
// with what each step returned; pytest asserts on it.
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';

const URL = process.env.SUPABASE_URL;
const ANON = process.env.SUPABASE_ANON_KEY;
const scene = JSON.parse(process.env.SCENE);

function client(token) {
  return createClient(URL, ANON, {
    db: { schema: 'api' }, // config.toml exposes only the api schema
    auth: { persistSession: false, autoRefreshToken: false },
    global: { headers: token ? { Authorization: `Bearer ${token}` } : {} },
    realtime: { transport: WebSocket },
  });
}
const as = (name) => client(scene.users[name].token);
const err = (e) => (e ? { code: e.code, message: e.message, details: e.details, hint: e.hint } : null);

const journeys = {
  async player() {
    // The player signs in through /auth/v1 as a frontend would; the session's access token
    // then authorises every /rest/v1 call of this client.
    const player = client(null);
    const signIn = await player.auth.signInWithPassword({
      email: scene.users.player.email, password: scene.password,
    });
    if (signIn.error) throw new Error(`sign-in failed: ${signIn.error.message}`);
    const team = await player.rpc('ctf_create_team', { p_event_id: scene.event, p_name: `Alpha ${scene.tag}` });
    const join = await as('teammate').rpc('ctf_join_team', { p_invite_code: team.data?.invite_code });
    const list = await player
      .rpc('ctf_list_challenges', { p_event_id: scene.event })
      .select('id,title,value,solved')
      .eq('title', 'Warmup');
    const wrong = await player.rpc('ctf_submit', { p_challenge_id: scene.challenge, p_flag: 'flag{wrong}' });
    const right = await as('teammate').rpc('ctf_submit', { p_challenge_id: scene.challenge, p_flag: 'flag{right}' });
    const board = await client(null).rpc('ctf_get_scoreboard', { p_event_id: scene.event }, { get: true });
    const after = await player.rpc('ctf_list_challenges', { p_event_id: scene.event }).select('title,solved');
    return {
      signed_in: signIn.data.user?.id,
      team: team.data, team_error: err(team.error), join: join.data, join_error: err(join.error),
      challenges: list.data, list_error: err(list.error),
      wrong: wrong.data, wrong_error: err(wrong.error),
      right: right.data, right_error: err(right.error),
      scoreboard: board.data, board_error: err(board.error), after: after.data,
    };
  },

  async learner() {
    const learner = as('learner');
    const browse = await client(null)
      .from('learning_courses')
      .select('id,title', { count: 'exact' })
      .ilike('title', `%${scene.tag}%`)
      .order('title', { ascending: true })
      .range(0, 9);
    const one = await client(null).from('learning_courses').select('id,title').eq('id', scene.course).single();
    // Embedding across views: learning_course_modules.course_id keeps the base table's FK.
    const tree = await client(null)
      .from('learning_courses')
      .select('title, learning_course_modules(title, learning_course_lessons(title))')
      .eq('id', scene.course)
      .single();
    const enroll = await learner.rpc('learning_enroll', { p_course_id: scene.course });
    const lessons = [];
    for (const id of scene.lessons) {
      const r = await learner.rpc('learning_complete_lesson', { p_lesson_id: id });
      lessons.push({ data: r.data, error: err(r.error) });
    }
    const anonEnroll = await client(null).rpc('learning_enroll', { p_course_id: scene.course });
    return {
      browse: browse.data, count: browse.count, status: browse.status, browse_error: err(browse.error),
      one: one.data, one_error: err(one.error), tree: tree.data, tree_error: err(tree.error),
      enroll: enroll.data, enroll_error: err(enroll.error), lessons,
      anon_enroll_error: err(anonEnroll.error), anon_enroll_status: anonEnroll.status,
    };
  },

  async member() {
    const thread = await as('poster').rpc('community_create_thread', {
      p_category_id: scene.category, p_title: `Spam here ${scene.tag}`, p_body: 'Buy now!', p_tags: ['offers'],
    });
    const report = await as('reporter').rpc('community_report', {
      p_target_type: 'thread', p_target_id: String(thread.data), p_reason: 'spam', p_message: 'advert',
    });
    const mod = as('moderator');
    const queue = await mod
      .from('community_review_queue')
      .select('id,status,version,flag_count,target_type')
      .eq('target_type', 'thread')
      .eq('target_id', String(thread.data))
      .maybeSingle();
    const decide = await mod.rpc('community_decide_review', {
      p_item_id: queue.data?.id, p_decision: 'agree', p_version: queue.data?.version, p_note: 'advert',
    });
    const after = await mod.from('community_review_queue').select('status').eq('id', queue.data?.id).single();
    const reporterQueue = await as('reporter').from('community_review_queue').select('id');
    return {
      thread: thread.data, thread_error: err(thread.error), report: report.data, report_error: err(report.error),
      queue: queue.data, queue_error: err(queue.error), decide: decide.data, decide_error: err(decide.error),
      after: after.data, reporter_queue: reporterQueue.data, reporter_queue_error: err(reporterQueue.error),
    };
  },

  async errors() {
    const bad = await client('not-a-jwt').from('learning_courses').select('id');
    const expired = await client(scene.expired_token).from('learning_courses').select('id');
    const raw = await fetch(`${URL}/rest/v1/learning_courses`);
    const unknown = await client(null).rpc('ctf_submitt', { p_challenge_id: scene.challenge, p_flag: 'x' });
    const notFound = await as('learner').rpc('learning_enroll', { p_course_id: '00000000-0000-4000-8000-000000000000' });
    const malformed = await as('learner').rpc('learning_enroll', { p_course_id: 'nope' });
    return {
      bad: { status: bad.status, error: err(bad.error) },
      expired: { status: expired.status, error: err(expired.error) },
      missing_apikey: { status: raw.status, body: await raw.json() },
      unknown: { status: unknown.status, error: err(unknown.error) },
      not_found: { status: notFound.status, error: err(notFound.error) },
      malformed: { status: malformed.status, error: err(malformed.error) },
    };
  },
};

const name = process.argv[2];
if (!journeys[name]) {
  console.error(`unknown journey ${name}; have: ${Object.keys(journeys).join(', ')}`);
  process.exit(2);
}
const result = await journeys[name]();
process.stdout.write(JSON.stringify(result));
