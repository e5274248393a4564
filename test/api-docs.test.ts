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
// Private and #private members and anything tagged @internal or @hidden are skipped. A
// member that overrides a documented base-class member inherits that comment (as in TypeScript's
// own tooling and TypeDoc), so an override needs no comment of its own.
import { describe, it, expect } from 'vitest';
import ts from 'typescript';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entryPoints = ['src/index.ts', 'src/node.ts'];

// Names declared in files this change could not edit (other work on them was in flight:
// src/engine/{autograd,scope,tensor}.ts, src/train/*, src/data/transforms.ts), missing a doc
// comment. Keys are `file: Name` or `file: Class.member`. The second test fails when an entry gets
// its comment, so the list only shrinks.
// TODO(lead): document these and empty the list.
const allowlist = new Set<string>([
  'src/engine/autograd.ts: backward',
  'src/engine/scope.ts: isGradEnabled',
  'src/engine/scope.ts: setGradEnabled',
  'src/engine/tensor.ts: CreateOptions',
  'src/engine/tensor.ts: CreateOptions.dtype',
  'src/engine/tensor.ts: CreateOptions.requiresGrad',
  'src/engine/tensor.ts: DType',
  'src/engine/tensor.ts: GradFn.inputs',
  'src/engine/tensor.ts: GradFn.name',
  'src/engine/tensor.ts: RandomOptions',
  'src/engine/tensor.ts: RandomOptions.generator',
  'src/engine/tensor.ts: Shape',
  'src/engine/tensor.ts: Storage.buffer',
  'src/engine/tensor.ts: Storage.bytes',
  'src/engine/tensor.ts: Storage.refs',
  'src/engine/tensor.ts: Storage.release',
  'src/engine/tensor.ts: Storage.retain',
  'src/engine/tensor.ts: Tensor',
  'src/engine/tensor.ts: Tensor.abs',
  'src/engine/tensor.ts: Tensor.add',
  'src/engine/tensor.ts: Tensor.argmax',
  'src/engine/tensor.ts: Tensor.buffer',
  'src/engine/tensor.ts: Tensor.disposed',
  'src/engine/tensor.ts: Tensor.div',
  'src/engine/tensor.ts: Tensor.dtype',
  'src/engine/tensor.ts: Tensor.eq',
  'src/engine/tensor.ts: Tensor.exp',
  'src/engine/tensor.ts: Tensor.flatten',
  'src/engine/tensor.ts: Tensor.id',
  'src/engine/tensor.ts: Tensor.indexSelect',
  'src/engine/tensor.ts: Tensor.isLeaf',
  'src/engine/tensor.ts: Tensor.log',
  'src/engine/tensor.ts: Tensor.logSoftmax',
  'src/engine/tensor.ts: Tensor.matmul',
  'src/engine/tensor.ts: Tensor.max',
  'src/engine/tensor.ts: Tensor.maximum',
  'src/engine/tensor.ts: Tensor.mean',
  'src/engine/tensor.ts: Tensor.mul',
  'src/engine/tensor.ts: Tensor.neg',
  'src/engine/tensor.ts: Tensor.permute',
  'src/engine/tensor.ts: Tensor.pow',
  'src/engine/tensor.ts: Tensor.rank',
  'src/engine/tensor.ts: Tensor.relu',
  'src/engine/tensor.ts: Tensor.requiresGrad',
  'src/engine/tensor.ts: Tensor.reshape',
  'src/engine/tensor.ts: Tensor.shape',
  'src/engine/tensor.ts: Tensor.sigmoid',
  'src/engine/tensor.ts: Tensor.size',
  'src/engine/tensor.ts: Tensor.slice',
  'src/engine/tensor.ts: Tensor.softmax',
  'src/engine/tensor.ts: Tensor.sqrt',
  'src/engine/tensor.ts: Tensor.storage',
  'src/engine/tensor.ts: Tensor.sub',
  'src/engine/tensor.ts: Tensor.sum',
  'src/engine/tensor.ts: Tensor.tanh',
  'src/engine/tensor.ts: Tensor.toFloat',
  'src/engine/tensor.ts: Tensor.toString',
  'src/engine/tensor.ts: Tensor.transpose',
  'src/engine/tensor.ts: Tensor.view',
  'src/engine/tensor.ts: full',
  'src/engine/tensor.ts: ones',
  'src/engine/tensor.ts: onesLike',
  'src/engine/tensor.ts: zeros',
  'src/engine/tensor.ts: zerosLike',
]);

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
      if (hasTag(symbol, 'internal', 'hidden', 'ignore')) continue;
      const name = exported.name;
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

describe('API documentation', () => {
  const missing = undocumentedNames();

  it('every exported name, public or protected class member and interface member has a doc comment', () => {
    const unexplained = missing.filter((m) => !allowlist.has(m));
    expect(unexplained, `add a doc comment to each of these ${unexplained.length}:\n${unexplained.join('\n')}\n`).toEqual([]);
  });

  it('the allowlist names only things that still lack a comment', () => {
    const stale = [...allowlist].filter((m) => !missing.includes(m));
    expect(stale, 'remove these from the allowlist in test/api-docs.test.ts').toEqual([]);
  });
});
