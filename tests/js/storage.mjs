// /storage/v1 through the real @supabase/supabase-js (supabase.storage = storage-js).
// Usage: node tests/js/storage.mjs <step>; SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_KEY
// and SCENE (JSON: users with tokens, the course) come from tests/storage/test_storage_js.py.
// Prints one JSON document with what each call returned; pytest asserts on it.
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';

const URL_ = process.env.SUPABASE_URL;
const ANON = process.env.SUPABASE_ANON_KEY;
const SERVICE = process.env.SUPABASE_SERVICE_KEY;
const scene = JSON.parse(process.env.SCENE || '{}');

function client(who) {
  const key = who === 'service' ? SERVICE : ANON;
  const token = who === 'service' ? SERVICE : who === 'anon' ? ANON : scene.users[who].token;
  return createClient(URL_, key, {
    db: { schema: 'api' },
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { headers: { Authorization: `Bearer ${token}` } },
    realtime: { transport: WebSocket },
  });
}
const err = (e) => (e ? { name: e.name, status: e.status, statusCode: e.statusCode, message: e.message } : null);
const png = () => Buffer.from(scene.png, 'base64');
const text = async (blob) => (blob ? Buffer.from(await blob.arrayBuffer()).toString() : null);

const steps = {
  // Avatars: a Blob upload (multipart, as a browser sends it), list, download, public URL,
  // a transformation, signed URL, info, exists, remove — and the other roles' refusals.
  async avatars() {
    const me = client('owner').storage.from('avatars');
    const folder = scene.users.owner.id;
    const path = `${folder}/js.png`;
    const blob = new Blob([png()], { type: 'image/png' });
    const up = await me.upload(path, blob, { cacheControl: '60' });
    const dup = await me.upload(path, blob);
    const list = await me.list(folder);
    const dl = await me.download(path);
    const { data: pub } = me.getPublicUrl(path);
    const pubRes = await fetch(pub.publicUrl);
    const { data: tr } = me.getPublicUrl(path, { transform: { width: 16, height: 16 } });
    const trRes = await fetch(tr.publicUrl, { headers: { accept: 'image/webp' } });
    const signed = await me.createSignedUrl(path, 60);
    const signedRes = await fetch(signed.data.signedUrl);
    const info = await me.info(path);
    const exists = await me.exists(path);
    const missing = await me.exists(`${folder}/none.png`);
    const other = client('other').storage.from('avatars');
    const otherUp = await other.upload(path, blob, { upsert: true });
    const otherRm = await other.remove([path]);
    const anonUp = await client('anon').storage.from('avatars').upload(`${folder}/anon.png`, blob);
    const anonDl = await client('anon').storage.from('avatars').download(path);
    // An ArrayBuffer/Buffer body goes as raw bytes with a content-type header.
    const raw = await me.update(path, png(), { contentType: 'image/png' });
    const rm = await me.remove([path]);
    return {
      up: up.data, up_error: err(up.error), dup_error: err(dup.error),
      list: list.data?.map((f) => ({ name: f.name, mimetype: f.metadata?.mimetype, cache: f.metadata?.cacheControl })),
      download_size: dl.data?.size, download_type: dl.data?.type,
      public_status: pubRes.status, public_cache: pubRes.headers.get('cache-control'),
      transform_status: trRes.status, transform_type: trRes.headers.get('content-type'),
      signed_status: signedRes.status, signed_cache: signedRes.headers.get('cache-control'),
      info: info.data, info_error: err(info.error), exists: exists.data, missing: missing.data,
      other_up_error: err(otherUp.error), other_rm: otherRm.data,
      anon_up_error: err(anonUp.error), anon_dl_size: anonDl.data?.size,
      raw_error: err(raw.error), removed: rm.data?.map((r) => r.name),
    };
  },

  // Course content: the teacher uploads, the learner reads and signs, the outsider and anon
  // see nothing; move, copy and a signed upload URL.
  async course() {
    const course = scene.course;
    const teacher = client('teacher').storage.from('course-content');
    const path = `${course}/js/notes.txt`;
    const up = await teacher.upload(path, new Blob(['js notes'], { type: 'text/plain' }));
    const learner = client('learner').storage.from('course-content');
    const learnerDl = await learner.download(path);
    const learnerList = await learner.list(`${course}/js`);
    const learnerUp = await learner.upload(`${course}/js/mine.txt`, new Blob(['x'], { type: 'text/plain' }));
    const signed = await learner.createSignedUrl(path, 60, { download: true });
    const signedRes = await fetch(signed.data.signedUrl);
    const outsider = client('outsider').storage.from('course-content');
    const outDl = await outsider.download(path);
    const outList = await outsider.list(`${course}/js`);
    const anonDl = await client('anon').storage.from('course-content').download(path);
    const mv = await teacher.move(path, `${course}/js/moved.txt`);
    const cp = await teacher.copy(`${course}/js/moved.txt`, `${course}/js/copy.txt`);
    const upl = await teacher.createSignedUploadUrl(`${course}/js/signed.txt`);
    const viaToken = await client('anon').storage.from('course-content')
      .uploadToSignedUrl(`${course}/js/signed.txt`, upl.data.token, new Blob(['signed'], { type: 'text/plain' }));
    const after = await teacher.list(`${course}/js`);
    const rm = await teacher.remove([`${course}/js/moved.txt`, `${course}/js/copy.txt`, `${course}/js/signed.txt`]);
    return {
      up_error: err(up.error), learner_text: await text(learnerDl.data),
      learner_list: learnerList.data?.map((f) => f.name), learner_up_error: err(learnerUp.error),
      signed_status: signedRes.status, signed_disposition: signedRes.headers.get('content-disposition'),
      outsider_dl_error: err(outDl.error), outsider_list: outList.data,
      anon_dl_error: err(anonDl.error),
      move: mv.data, move_error: err(mv.error), copy: cp.data, copy_error: err(cp.error),
      signed_upload_error: err(viaToken.error), after: after.data?.map((f) => f.name),
      removed: rm.data?.map((r) => r.name),
    };
  },

  // Buckets are the service role's.
  async buckets() {
    const service = client('service').storage;
    const id = `js-${scene.tag}`;
    const created = await service.createBucket(id, { public: true, fileSizeLimit: 1024, allowedMimeTypes: ['text/plain'] });
    const got = await service.getBucket(id);
    const big = await service.from(id).upload('big.txt', new Blob(['x'.repeat(2048)], { type: 'text/plain' }));
    const wrong = await service.from(id).upload('a.png', new Blob([png()], { type: 'image/png' }));
    const userCreate = await client('owner').storage.createBucket(`mine-${scene.tag}`);
    const userList = await client('owner').storage.listBuckets();
    const deleted = await service.deleteBucket(id);
    return {
      created: created.data, created_error: err(created.error), bucket: got.data,
      big_error: err(big.error), wrong_error: err(wrong.error),
      user_create_error: err(userCreate.error), user_list: userList.data,
      deleted: deleted.data, deleted_error: err(deleted.error),
    };
  },
};

const step = process.argv[2];
if (!steps[step]) {
  console.error(`unknown step ${step}`);
  process.exit(2);
}
console.log(JSON.stringify(await steps[step]()));
