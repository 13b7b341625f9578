// Runs the CLI from source (through tsx), for tests that spawn imprint as a user would.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
