/** How an error that ends a command is printed. */
import { JosgdbError } from '../common/errors';
import { failureLine } from './main';

test('an unexpected error is called internal; a user error or a system error naming a file is not', () => {
  expect(failureLine(new JosgdbError('BAD_ARGUMENT', '--listen "x": expected HOST:PORT'))).toBe('josgdb: --listen "x": expected HOST:PORT');
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'p.log'"), { code: 'ENOENT' });
  expect(failureLine(enoent)).toBe("josgdb: ENOENT: no such file or directory, open 'p.log'");
  expect(failureLine(new TypeError("Cannot read properties of undefined (reading 'x')"))).toMatch(
    /\(an internal error in josgdb: JOSGDB_DEBUG=1 prints where it happened; please report it\)$/,
  );
});
