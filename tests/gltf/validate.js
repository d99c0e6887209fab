// Validate glTF files with the Khronos glTF-Validator (npm package gltf-validator):
//   node tests/gltf/validate.js FILE...
// prints one JSON line per file: its name, error, warning and info counts, and the first messages.
const fs = require("fs");
const path = require("path");
const validator = require("gltf-validator");

async function main() {
  for (const file of process.argv.slice(2)) {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const report = await validator.validateBytes(bytes, {
      uri: path.basename(file),
      maxIssues: 100,
      externalResourceFunction: (uri) => Promise.reject(new Error(`external resource ${uri}`)),
    });
    const issues = report.issues;
    console.log(JSON.stringify({
      file, errors: issues.numErrors, warnings: issues.numWarnings, infos: issues.numInfos,
      messages: issues.messages.filter((m) => m.severity < 2).slice(0, 10).map((m) => `${m.code}: ${m.message} ${m.pointer || ""}`),
    }));
  }
}
main().catch((error) => { console.error(String(error)); process.exit(1); });
