/**
 * Lists what the package's public entry points export (values and types), by TypeScript's own checker:
 * `node scripts/public-exports.js` prints it as JSON. test/tooling/public-exports.test.ts compares it with
 * the committed list, so a restructuring that drops or adds a public name is seen.
 */
const ts = require("typescript");
const path = require("node:path");

const ENTRY_POINTS = { ".": "src/index.ts", "./batcher": "src/batcher/index.ts" };

function publicExports(root = path.join(__dirname, "..")) {
  const files = Object.values(ENTRY_POINTS).map((file) => path.join(root, file));
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const result = {};
  for (const [name, file] of Object.entries(ENTRY_POINTS)) {
    const source = program.getSourceFile(path.join(root, file));
    const symbol = checker.getSymbolAtLocation(source);
    result[name] = checker
      .getExportsOfModule(symbol)
      .map((exported) => exported.getName())
      .sort();
  }
  return result;
}

module.exports = { publicExports, ENTRY_POINTS };

if (require.main === module) console.log(JSON.stringify(publicExports(), null, 2));
