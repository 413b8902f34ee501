// Run a Postman collection with the pinned newman against the local gateway and print what
// each request answered and which checks failed, as JSON (pytest asserts on it).
// Usage: node tests/js/newman.mjs <collection.json> <environment.json>; the environment's
// values are overridden by BASE_URL, ANON_KEY, USER_JWT and API_KEY; FOLDER runs one folder.
import { readFileSync } from 'node:fs';
import newman from 'newman';

const [collectionPath, environmentPath] = process.argv.slice(2);
const environment = JSON.parse(readFileSync(environmentPath, 'utf8'));
const values = {
  baseUrl: process.env.BASE_URL, anonKey: process.env.ANON_KEY,
  userJwt: process.env.USER_JWT, apiKey: process.env.API_KEY,
};
for (const v of environment.values) if (values[v.key] !== undefined) v.value = values[v.key];

newman.run(
  {
    collection: JSON.parse(readFileSync(collectionPath, 'utf8')),
    environment,
    reporters: [],
    timeoutRequest: 30000,
    ...(process.env.FOLDER ? { folder: process.env.FOLDER } : {}),
  },
  (err, summary) => {
    if (err) {
      process.stderr.write(`newman failed: ${err.stack}\n`);
      process.exit(1);
    }
    const executions = summary.run.executions.map((e) => ({
      id: e.item.id,
      name: e.item.name,
      method: e.request?.method,
      url: e.request?.url?.toString(),
      code: e.response?.code ?? null,
      error: e.requestError ? String(e.requestError.message) : null,
      assertions: (e.assertions || []).map((a) => ({
        name: a.assertion, error: a.error ? a.error.message : null,
      })),
    }));
    process.stdout.write(JSON.stringify({
      stats: summary.run.stats,
      failures: summary.run.failures.map((f) => ({
        item: f.source?.name, at: f.at, error: f.error?.message,
      })),
      executions,
    }));
  },
);
