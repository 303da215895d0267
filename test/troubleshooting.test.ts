/**
 * docs/troubleshooting.md lists every message josgdb can print to a user, and
 * the code prints no message the doc does not list. This test reads both and
 * fails on a message in the code that the doc lacks, and on a doc entry that
 * no code prints any more.
 *
 * Which messages count (src/**\/*.ts, without *.test.ts and testing/ folders):
 *
 *   1. Logged warnings and errors: the message argument of `.warn(...)` and
 *      `.error(...)` called on something named `log` or `logger`
 *      (`log.warn`, `this.log.error`, `this.ctx.log.warn`). A pino merge
 *      object before the message is skipped.
 *   2. Symbol warnings: the arguments of `warnings.push(...)` in
 *      src/symbols/loader (`josgdb symbols` prints them, `serve` logs them),
 *      and the settings notices of `notices.push(...)` in src/cli (printed on
 *      stderr before a command runs).
 *   3. Errors that end a command: the message of `new JosgdbError(code, message)`
 *      (or `new Error(message)`) in the files where a command meets its input
 *      and its environment (FRONT_DOOR below), and, anywhere, the message of
 *      any `new X(code, message)` or `f(code, message)` whose code is one that
 *      always ends a command (ENDS_A_COMMAND), such as `failHandshake('HANDSHAKE_TIMEOUT', ...)`.
 *
 * A message that is a string, a template or a `+` of them is collected; each
 * `${...}` becomes a placeholder, and a `cond ? 'a' : 'b'` message counts as
 * both. A message held in a variable or built by a function is not collected
 * (document it where its text is written, or write it inline).
 *
 * In the doc, each message is a level-4 heading holding the message in a code
 * span, with placeholders written as <name>: `#### \`cannot listen on <host>:<port>: <reason>\``.
 * Messages are compared with every placeholder made equal and whitespace
 * collapsed, so the names in the doc are free to explain what goes there.
 *
 * If this test fails on your new message: add a heading for it to
 * docs/troubleshooting.md with what it means and what to do; if it fails on a
 * doc entry, the message changed or is gone: update or remove the entry.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { EXIT_CODE_SUMMARY, ExitCode } from '../src/cli/exit-codes';

const ROOT = path.join(__dirname, '..');
const SRC = path.join(ROOT, 'src');
const DOC = path.join(ROOT, 'docs', 'troubleshooting.md');

/** Where errors reach the user as `josgdb: <message>` (relative to src/, folders end in /). */
const FRONT_DOOR = [
  'cli/',
  'doctor/',
  'link/',
  'recording/',
  'replay/',
  'demo/',
  'symbols/loader/',
  'bridge/bridge.ts',
  'bridge/session-snapshot.ts',
  'bridge/gdb-server.ts',
];
const ENDS_A_COMMAND = ['HANDSHAKE_TIMEOUT', 'LISTEN_FAILED', 'LINK_UNREACHABLE'];

const PLACEHOLDER = '<>';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' || entry.name === 'testdata' ? [] : sourceFiles(p);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Whitespace collapsed, every <name> and ${...} one placeholder, runs of placeholders one. */
export function canonical(text: string): string {
  return text
    .replace(/<[^<>\n]+>/g, PLACEHOLDER)
    .replace(/\s+/g, ' ')
    .replace(/(<>)+/g, PLACEHOLDER)
    .trim();
}

/** The texts a message expression can produce, with placeholders; [] when it is not written inline. */
function messageTexts(node: ts.Expression): string[] {
  if (ts.isParenthesizedExpression(node)) return messageTexts(node.expression);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isTemplateExpression(node)) {
    return [node.head.text + node.templateSpans.map((span) => PLACEHOLDER + span.literal.text).join('')];
  }
  if (ts.isConditionalExpression(node)) {
    const branches = [...messageTexts(node.whenTrue), ...messageTexts(node.whenFalse)];
    return branches;
  }
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const left = messageTexts(node.left);
    const right = messageTexts(node.right);
    if (left.length === 0 && right.length === 0) return [];
    const l = left.length ? left : [PLACEHOLDER];
    const r = right.length ? right : [PLACEHOLDER];
    return l.flatMap((a) => r.map((b) => a + b));
  }
  return [];
}

/** The last name in `a.b.log`: `log`. */
function lastName(node: ts.Expression): string | undefined {
  if (ts.isIdentifier(node)) return node.text;
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  return undefined;
}

interface Found {
  text: string;
  where: string;
}

function collectFromCode(): Found[] {
  const found: Found[] = [];
  for (const file of sourceFiles(SRC)) {
    const rel = path.relative(SRC, file).split(path.sep).join('/');
    const frontDoor = FRONT_DOOR.some((p) => (p.endsWith('/') ? rel.startsWith(p) : rel === p));
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const add = (texts: string[], node: ts.Node) => {
      const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      for (const text of texts) found.push({ text, where: `src/${rel}:${line}` });
    };
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
        const method = node.expression.name.text;
        const on = lastName(node.expression.expression);
        if ((method === 'warn' || method === 'error') && on !== undefined && /^(log|logger)$/.test(on)) {
          const [first, second] = node.arguments;
          const message = first && ts.isObjectLiteralExpression(first) ? second : first;
          if (message) add(messageTexts(message), node);
        }
        if ((method === 'push' && on === 'warnings' && rel.startsWith('symbols/loader/')) || (method === 'push' && on === 'notices' && rel.startsWith('cli/'))) {
          for (const arg of node.arguments) add(messageTexts(arg), node);
        }
      }
      if (ts.isNewExpression(node) || ts.isCallExpression(node)) {
        const args = node.arguments ?? [];
        const code = args[0];
        const always = code !== undefined && ts.isStringLiteral(code) && ENDS_A_COMMAND.includes(code.text) && args.length >= 2;
        const name = ts.isNewExpression(node) && ts.isIdentifier(node.expression) ? node.expression.text : undefined;
        if (always) add(messageTexts(args[1]!), node);
        else if (frontDoor && name === 'JosgdbError' && args.length >= 2) add(messageTexts(args[1]!), node);
        else if (frontDoor && name === 'Error' && args[0]) add(messageTexts(args[0]), node);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/** `#### \`message\`` headings (double backticks when the message holds one). */
function collectFromDoc(): Found[] {
  const found: Found[] = [];
  readFileSync(DOC, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const m = /^#### (`+) ?(.*?) ?\1\s*$/.exec(line);
      if (m) found.push({ text: m[2]!, where: `docs/troubleshooting.md:${i + 1}` });
    });
  return found;
}

const inCode = collectFromCode();
const inDoc = collectFromDoc();

test('the extraction finds the messages it is meant to find (a guard against a rule that silently matches nothing)', () => {
  const texts = new Set(inCode.map((f) => canonical(f.text)));
  // One of each kind: a logged error, a symbol warning, a front-door error, an error that always ends a command.
  expect(texts).toContain(canonical('the target link <target> is gone (<reason>); restart josgdb when the target is back (with --attach if the kernel kept running)'));
  expect(texts).toContain(canonical('symbols for <image> come from the image alone: its sections and exports, no source lines'));
  expect(texts).toContain(canonical('--listen "<text>": expected HOST:PORT or PORT, e.g. 127.0.0.1:1234'));
  expect(texts).toContain(canonical('no KernelConnectionInfo from <link> within <seconds> s (--handshake-timeout)<last lines>'));
  expect(inCode.length).toBeGreaterThan(60);
  expect(inDoc.length).toBeGreaterThan(60);
});

test('every message josgdb prints is listed in docs/troubleshooting.md', () => {
  const documented = new Set(inDoc.map((f) => canonical(f.text)));
  const missing = inCode.filter((f) => !documented.has(canonical(f.text))).map((f) => `${f.where}: ${f.text}`);
  expect(missing).toEqual([]);
});

test('every message listed in docs/troubleshooting.md is still printed by the code', () => {
  const printed = new Set(inCode.map((f) => canonical(f.text)));
  const stale = inDoc.filter((f) => !printed.has(canonical(f.text))).map((f) => `${f.where}: ${f.text}`);
  expect(stale).toEqual([]);
});

test('no message is listed twice', () => {
  const seen = new Map<string, string>();
  const twice: string[] = [];
  for (const f of inDoc) {
    const key = canonical(f.text);
    if (seen.has(key)) twice.push(`${f.where} repeats ${seen.get(key)}`);
    else seen.set(key, f.where);
  }
  expect(twice).toEqual([]);
});

test('the exit code table lists every exit code josgdb uses, and no other', () => {
  const doc = readFileSync(DOC, 'utf8');
  const section = doc.slice(doc.indexOf('## Exit codes'), doc.indexOf('\n## ', doc.indexOf('## Exit codes') + 1));
  const listed = [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
  expect(listed).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
  // The one-line summary in --help names the same codes.
  expect([...EXIT_CODE_SUMMARY.matchAll(/(\d+) [a-z]/g)].map((m) => Number(m[1]))).toEqual(listed);
});
