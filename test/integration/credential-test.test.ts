/** The credential's Test button (testedBy: totvsPostgresConnectionTest) against a real server. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ICredentialTestFunctions } from 'n8n-workflow';
import { TotvsDump } from '../../nodes/TotvsDump/TotvsDump.node';
import { sharedPostgres } from '../../support/shared-postgres';
import { credentialFor } from '../../support/totvs-workflow';

const server = sharedPostgres();
const test = new TotvsDump().methods.credentialTest.totvsPostgresConnectionTest;
const run = (data: Record<string, unknown>) =>
	test.call({} as ICredentialTestFunctions, { id: 'c', name: 'c', type: 'totvsPostgres', data: data as never });

describe('TOTVS PostgreSQL credential test', () => {
	it('is the test the Dump node declares for its credential', () => {
		expect(new TotvsDump().description.credentials).toContainEqual(
			expect.objectContaining({ name: 'totvsPostgres', required: true, testedBy: 'totvsPostgresConnectionTest' }),
		);
	});

	it('connects and reports the server version and the pg_dump that can dump it', async () => {
		const result = await run(credentialFor(server, 'postgres'));
		expect(result.status).toBe('OK');
		expect(result.message).toMatch(/^Connected to PostgreSQL 1\d\.\d+; pg_dump 1\d\.\d+ \(.*pg_dump\) can dump it$/);
	});

	it('logs what a passing Test found: n8n\'s dialog shows only "Connection tested successfully" (issue 16)', async () => {
		const info = jest.fn();
		const context = { logger: { info, warn: jest.fn(), error: jest.fn(), debug: jest.fn() } };
		const result = await test.call(context as unknown as ICredentialTestFunctions, {
			id: 'c',
			name: 'c',
			type: 'totvsPostgres',
			data: credentialFor(server, 'postgres') as never,
		});
		expect(result.status).toBe('OK');
		expect(info).toHaveBeenCalledWith(`TOTVS PostgreSQL credential test: ${result.message}`);
	});

	it('reports a wrong password without echoing it', async () => {
		const result = await run({ ...credentialFor(server, 'postgres'), password: 'not-the-password' });
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/refused user .*Check the user and password/);
		expect(result.message).not.toContain('not-the-password');
	});

	it('reports a pg_dump older than the server', async () => {
		const old = mkdtempSync(join(tmpdir(), 'totvs-oldpg-'));
		writeFileSync(join(old, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 12.9"\n');
		chmodSync(join(old, 'pg_dump'), 0o755);
		try {
			const result = await run({ ...credentialFor(server, 'postgres'), binFolder: old });
			expect(result.status).toBe('Error');
			expect(result.message).toMatch(
				/but pg_dump 12\.9 .* is older and cannot dump it: install the PostgreSQL 1\d client tools/,
			);
		} finally {
			rmSync(old, { recursive: true, force: true });
		}
	});
});
