// Root hooks shared by every test file: an unhandled rejection or uncaught
// exception anywhere in the process fails the run instead of being lost.
const failures: unknown[] = [];

process.on('unhandledRejection', (reason) => {
  failures.push(reason);
});

export const mochaHooks = {
  afterEach(): void {
    if (failures.length > 0) {
      const reason = failures.splice(0);
      throw new Error(`unhandled rejection during the test: ${reason.map(String).join('; ')}`);
    }
  },
};
