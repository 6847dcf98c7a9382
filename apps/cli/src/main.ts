import { runCli } from './program';

// `nco watch | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

void runCli(process.argv.slice(2)).then((code) => {
  // A half-closed NATS socket or a stray timer must not keep the shell waiting:
  // Exit once stdout has taken everything written before.
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
});
