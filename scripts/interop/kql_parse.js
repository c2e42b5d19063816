// Parses KQL files with Kusto.Language (the parser of Kusto Explorer and Azure Data Explorer,
// in its JavaScript build from npm @kusto/language-service-next). Exit 1 on any syntax error.
// Usage: NODE_PATH=<dir with node_modules> node kql_parse.js FILE...
const fs = require('fs');
global.Bridge = require('@kusto/language-service-next/bridge.min.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');
const K = global.Kusto.Language;
let errors = 0;
for (const f of process.argv.slice(2)) {
  const code = K.KustoCode.Parse(fs.readFileSync(f, 'utf8'));
  const diags = code.GetDiagnostics();
  for (let i = 0; i < diags.Count; i++) {
    const d = diags.getItem(i);
    console.log(`${f}: ${d.Severity} ${d.Code} at ${d.Start}: ${d.Message}`);
    if (d.Severity === 'Error') errors++;
  }
  console.log(`${f}: parsed, ${diags.Count} diagnostic(s)`);
}
process.exit(errors ? 1 : 0);
