/**
 * Issue 17, "Key material survives a crash": a worker killed with SIGKILL leaves its private
 * temporary folders behind, the secret inside (the SSH key of the OpenSSH fast path, the pgpass
 * of pg_dump). The next start of ANY TOTVS node on this host removes those whose owner is gone;
 * a folder of a live process stays. Runs a TOTVS Verify node (no server needed) in n8n's engine.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TotvsVerify } from '../../../nodes/TotvsVerify/TotvsVerify.node';
import { MANUAL_TRIGGER_TYPE, packageNodeTypes, runWorkflow } from '../../../support/n8n-engine';
import { VERIFY_TYPE } from '../../../support/totvs-workflow';

/** A pid that surely ran on this host and has exited. */
function deadPid(): Promise<number> {
	return new Promise((resolve) => {
		const child = spawn('true');
		child.once('exit', () => resolve(child.pid!));
	});
}

/** A folder as a worker leaves it when killed: owner record first, then the secret. */
function leftover(prefix: string, owner: number, secret: string): string {
	const folder = mkdtempSync(join(tmpdir(), prefix));
	writeFileSync(join(folder, 'owner'), `${owner} ${hostname()}\n`, { mode: 0o600 });
	writeFileSync(join(folder, secret), 'secret\n', { mode: 0o600 });
	return folder;
}

const planted: string[] = [];
afterAll(() => {
	for (const folder of planted) rmSync(folder, { recursive: true, force: true });
});

test('a node start sweeps the secret folders a killed worker left (SSH key, pgpass); a live one is kept', async () => {
	const dead = await deadPid();
	const folders = {
		deadPostgres: leftover('totvs-pg-', dead, 'pgpass'),
		deadSftp: leftover('totvs-sftp-', dead, 'id'),
		livePostgres: leftover('totvs-pg-', process.pid, 'pgpass'),
	};
	planted.push(...Object.values(folders));
	const result = await runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
				{
					name: 'Verify',
					type: VERIFY_TYPE,
					parameters: { setFolder: join(tmpdir(), 'totvs-no-such-set') },
					continueOnFail: true,
				},
			],
			connections: { Start: { main: [[{ node: 'Verify', type: 'main', index: 0 }]] } },
		},
		{ nodeTypes: packageNodeTypes([new TotvsVerify()]) },
	);
	// The node ran (its item failed: there is no set), and the sweep never fails it.
	expect(result.jsonOf('Verify')).toMatchObject([{ status: 'failed' }]);
	expect({
		deadPostgres: existsSync(folders.deadPostgres),
		deadSftp: existsSync(folders.deadSftp),
		livePostgres: existsSync(folders.livePostgres),
	}).toEqual({ deadPostgres: false, deadSftp: false, livePostgres: true });
});
