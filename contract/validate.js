// Validates an AsyncAPI document with the AsyncAPI project's parser
// (@asyncapi/parser, pinned in package-lock.json): prints every diagnostic
// and exits 1 on an error. Usage: node validate.js asyncapi.yaml
'use strict';
const path = require('path');
const { Parser, fromFile, DiagnosticSeverity } = require('@asyncapi/parser');

async function main() {
  const file = path.resolve(process.argv[2] || 'asyncapi.yaml');
  const parser = new Parser();
  const { document, diagnostics } = await fromFile(parser, file).parse();
  const names = { 0: 'error', 1: 'warning', 2: 'info', 3: 'hint' };
  let errors = 0;
  for (const d of diagnostics) {
    if (d.severity === DiagnosticSeverity.Error) errors++;
    const where = d.path && d.path.length ? d.path.join('.') : '(document)';
    console.log(`${names[d.severity] || d.severity}: ${d.code}: ${where}: ${d.message}`);
  }
  if (errors > 0 || !document) {
    console.error(`${file}: ${errors} error(s): not a valid AsyncAPI document`);
    process.exit(1);
  }
  console.log(`${file}: valid AsyncAPI ${document.version()} (${document.channels().length} channels, ${document.operations().length} operations, ${document.messages().length} messages)`);
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
