// Type-check a TypeScript project with the pinned compiler, as `tsc --noEmit -p <dir>` does,
// and print its diagnostics as JSON (exit 0 either way; pytest asserts on them).
// Usage: node tests/js/tsc.mjs <project dir>; TSC_EXTRA_FILES may hold {"<path relative to
// the project>": "<source>"}: files added to the program in memory, never written, so a
// test can prove that a wrong snippet fails to compile against the real types.
import path from 'node:path';
import ts from 'typescript';

const project = path.resolve(process.argv[2]);
const extra = new Map(
  Object.entries(JSON.parse(process.env.TSC_EXTRA_FILES || '{}')).map(([rel, src]) => [
    path.resolve(project, rel),
    src,
  ]),
);

const configPath = path.join(project, 'tsconfig.json');
const parsed = ts.getParsedCommandLineOfConfigFile(configPath, { noEmit: true }, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
});
const host = ts.createCompilerHost(parsed.options);
const { getSourceFile, fileExists, readFile } = host;
host.fileExists = (f) => extra.has(path.resolve(f)) || fileExists.call(host, f);
host.readFile = (f) => extra.get(path.resolve(f)) ?? readFile.call(host, f);
host.getSourceFile = (f, language, ...rest) =>
  extra.has(path.resolve(f))
    ? ts.createSourceFile(f, extra.get(path.resolve(f)), language)
    : getSourceFile.call(host, f, language, ...rest);

const program = ts.createProgram({
  rootNames: [...parsed.fileNames, ...extra.keys()],
  options: parsed.options,
  host,
  configFileParsingDiagnostics: parsed.errors,
});
const diagnostics = [...parsed.errors, ...ts.getPreEmitDiagnostics(program)];
const rel = (f) => path.relative(process.cwd(), f);
process.stdout.write(
  JSON.stringify({
    version: ts.version,
    files: program
      .getRootFileNames()
      .map(rel)
      .sort(),
    errors: diagnostics.map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
      return {
        code: d.code,
        file: d.file ? rel(d.file.fileName) : null,
        line: where ? where.line + 1 : null,
        message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
      };
    }),
  }),
);
