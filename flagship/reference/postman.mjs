// The OpenAPI document as a Postman v2.1 collection, with the pinned openapi-to-postmanv2.
// Usage: node flagship/reference/postman.mjs <openapi.json>; prints the collection (JSON).
// flagship/reference/postman.py post-processes it (variables, auth, test scripts).
import { readFileSync } from 'node:fs';
import converter from 'openapi-to-postmanv2';

const spec = readFileSync(process.argv[2], 'utf8');
converter.convert(
  { type: 'string', data: spec },
  {
    folderStrategy: 'Tags',
    requestNameSource: 'Fallback',
    parametersResolution: 'Schema',
    includeAuthInfoInExample: false,
    indentCharacter: 'Space',
  },
  (err, result) => {
    if (err || !result.result) {
      process.stderr.write(`conversion failed: ${err?.message ?? result.reason}\n`);
      process.exit(1);
    }
    process.stdout.write(JSON.stringify(result.output[0].data));
  },
);
