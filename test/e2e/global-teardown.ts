/** jest globalTeardown of the e2e tests: stops the shared PostgreSQL, removes the work folder. */
import { rmSync } from 'node:fs';
import stopSharedPostgres from '../setup/global-teardown';
import { E2E_WORK_ENV } from './global-setup';
import { TEMPLATE_ENV } from './n8n-cli';

export default async function globalTeardown(): Promise<void> {
	await stopSharedPostgres();
	const work = process.env[E2E_WORK_ENV];
	if (work) rmSync(work, { recursive: true, force: true });
	delete process.env[E2E_WORK_ENV];
	delete process.env[TEMPLATE_ENV];
}
