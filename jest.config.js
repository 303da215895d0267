// Two projects: fast unit tests colocated with each layer (src/**/*.test.ts), and
// end-to-end tests (test/**/*.test.ts) that drive real gdb, lldb and QEMU.
const transform = { '^.+\\.ts$': ['ts-jest', {}] };
module.exports = {
  testTimeout: 180000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/src/**/*.test.ts'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
    },
  ],
};
