// Every exported name of the package has a doc comment (issue 13, item 9: the API reference that
// `npm run docs` generates has something to say on every page). Uses the TypeScript compiler API
// only; no GPU. The rule:
//   - every name exported from the entry points (src/index.ts and src/node.ts: the package's 'engram' and 'engram/node'),
//     re-exports followed to the declaration, has a JSDoc comment with text;
//   - for an exported class: every public or protected member (methods, properties, accessors,
//     static members; protected ones are the API of subclasses, and the reference lists them),
//     inherited ones included (named after the class that declares them); constructors are
//     described by the class comment and are not checked;
//   - for an exported interface: every member (properties, methods), inherited ones included;
//   - for an exported enum: every member.
// Private and #private members, and members tagged @internal or @hidden, are skipped; an exported
// name so tagged is a failure (TypeDoc gives it no page). A member that overrides a documented
// base-class member inherits that comment (as in TypeScript's own tooling and TypeDoc), so an
// override needs no comment of its own. And the reverse: every export, not tagged internal, of the
// op modules the ops barrel (src/engine/ops/index.ts) re-exports reaches the package root (the
// barrel lists some modules' exports by name, so a new op could otherwise be left out).
import { describe, it, expect } from 'vitest';
import ts from 'typescript';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entryPoints = ['src/index.ts', 'src/node.ts'];

// Names allowed to lack a doc comment, as `file: Name` or `file: Class.member`: none today. The
// second test fails when a listed entry has its comment, so the list can only shrink.
const allowlist = new Set<string>([]);

function program(): ts.Program {
  const configPath = path.join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  return ts.createProgram(
    entryPoints.map((e) => path.join(root, e)),
    { ...parsed.options, noEmit: true },
  );
}

function hasTag(symbol: ts.Symbol, ...tags: string[]): boolean {
  return (symbol.declarations ?? []).some((d) => ts.getJSDocTags(d).some((t) => tags.includes(t.tagName.text)));
}

function documented(symbol: ts.Symbol, checker: ts.TypeChecker): boolean {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim().length > 0;
}

function isHiddenMember(symbol: ts.Symbol): boolean {
  if (symbol.name.startsWith('#') || symbol.name.startsWith('__')) return true;
  if (symbol.flags & ts.SymbolFlags.Prototype) return true;
  if (hasTag(symbol, 'internal', 'hidden', 'ignore')) return true;
  return (symbol.declarations ?? []).some(
    (d) => (ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Private) !== 0 ||
      (ts.isClassElement(d) && d.name !== undefined && ts.isPrivateIdentifier(d.name)),
  );
}

/** Declared in this repository (not inherited from a library type such as Error). */
function ownMember(symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some((d) => !path.relative(root, d.getSourceFile().fileName).startsWith('node_modules'));
}

/** The class or interface that declares a member (for an inherited member, its base). */
function ownerName(member: ts.Symbol): string {
  const parent = member.declarations?.[0]?.parent;
  const owner = parent && ts.isConstructorDeclaration(parent) ? parent.parent : parent;
  return owner && (ts.isClassLike(owner) || ts.isInterfaceDeclaration(owner) || ts.isEnumDeclaration(owner)) && owner.name ? owner.name.text : '?';
}

function fileOf(symbol: ts.Symbol): string {
  const decl = symbol.declarations?.[0];
  return decl ? path.relative(root, decl.getSourceFile().fileName).split(path.sep).join('/') : '?';
}

/** `file: name` for every exported name (and checked member) without a doc comment. */
function undocumentedNames(): string[] {
  const prog = program();
  const checker = prog.getTypeChecker();
  const missing = new Set<string>();
  const seen = new Set<ts.Symbol>();
  const check = (symbol: ts.Symbol, name: string): void => {
    if (!documented(symbol, checker)) missing.add(`${fileOf(symbol)}: ${name}`);
  };
  const checkMembers = (members: ts.Symbol[]): void => {
    for (const member of members) {
      if (isHiddenMember(member) || !ownMember(member)) continue;
      if (!(member.flags & (ts.SymbolFlags.Property | ts.SymbolFlags.Method | ts.SymbolFlags.Accessor | ts.SymbolFlags.EnumMember))) continue;
      check(member, `${ownerName(member)}.${member.name}`);
    }
  };
  for (const entry of entryPoints) {
    const source = prog.getSourceFile(path.join(root, entry));
    if (!source) throw new Error(`entry point ${entry} not in the program`);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`entry point ${entry} is not a module`);
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (seen.has(symbol)) continue;
      seen.add(symbol);
      const name = exported.name;
      // TypeDoc leaves @internal names out of the reference: an entry point that exports one publishes
      // a name with no page.
      if (hasTag(symbol, 'internal', 'hidden', 'ignore')) {
        missing.add(`${fileOf(symbol)}: ${name} (exported from ${entry} but tagged @internal, @hidden or @ignore, so it has no page: stop exporting it, or document it without the tag)`);
        continue;
      }
      check(symbol, name);
      if (symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) {
        // Instance members, inherited ones included: the API page lists them too.
        checkMembers(checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol)));
      }
      if (symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Enum)) {
        checkMembers(checker.getPropertiesOfType(checker.getTypeOfSymbol(symbol))); // static members; enum members
      }
    }
  }
  return [...missing].sort();
}

/** Exports, not tagged internal, of the modules src/engine/ops/index.ts re-exports from, that src/index.ts does not export. */
function opsMissingFromRoot(): string[] {
  const prog = program();
  const checker = prog.getTypeChecker();
  const exportsOf = (file: string): ts.Symbol[] => {
    const source = prog.getSourceFile(path.join(root, file));
    if (!source) throw new Error(`${file} not in the program`);
    return checker.getExportsOfModule(checker.getSymbolAtLocation(source)!);
  };
  const resolve = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const atRoot = new Set(exportsOf('src/index.ts').map(resolve));
  const barrel = prog.getSourceFile(path.join(root, 'src/engine/ops/index.ts'))!;
  const modules = barrel.statements
    .filter((st): st is ts.ExportDeclaration => ts.isExportDeclaration(st) && !!st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier))
    .map((st) => (st.moduleSpecifier as ts.StringLiteral).text)
    .filter((m) => m.startsWith('./'))
    .map((m) => `src/engine/ops/${m.slice(2).replace(/\.js$/, '.ts')}`);
  expect(modules.length).toBeGreaterThan(10);
  const missing: string[] = [];
  for (const f of modules) {
    for (const exported of exportsOf(f)) {
      const symbol = resolve(exported);
      if (hasTag(symbol, 'internal', 'hidden', 'ignore') || atRoot.has(symbol)) continue;
      missing.push(`${f}: ${exported.name}`);
    }
  }
  return missing.sort();
}

describe('API documentation', () => {
  const missing = undocumentedNames();

  it('every public export of the op modules reaches the package root', () => {
    const left = opsMissingFromRoot();
    expect(left, `export these from src/engine/ops/index.ts, or tag them @internal:\n${left.join('\n')}\n`).toEqual([]);
  });

  it('every exported name, public or protected class member and interface member has a doc comment', () => {
    const unexplained = missing.filter((m) => !allowlist.has(m));
    expect(unexplained, `add a doc comment to each of these ${unexplained.length}:\n${unexplained.join('\n')}\n`).toEqual([]);
  });

  it('the allowlist names only things that still lack a comment', () => {
    const stale = [...allowlist].filter((m) => !missing.includes(m));
    expect(stale, 'remove these from the allowlist in test/api-docs.test.ts').toEqual([]);
  });

  it('`npm run docs` (TypeDoc) builds the reference with no warnings', async () => {
    const { execFile } = await import('node:child_process');
    const { mkdtempSync, existsSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const out = mkdtempSync(path.join(tmpdir(), 'engram-api-'));
    try {
      const result = await new Promise<{ code: number; text: string }>((done) => {
        execFile(process.execPath, [path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: root, timeout: 240_000 }, (err, stdout, stderr) => {
          done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, text: `${stdout}${stderr}` });
        });
      });
      expect(result.text).not.toMatch(/warning|error/i);
      expect(result.code, result.text).toBe(0);
      expect(existsSync(path.join(out, 'classes', 'engram.Tensor.html')) || existsSync(path.join(out, 'classes', 'Tensor.html'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
