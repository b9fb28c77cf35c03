import { BackupError } from '../../errors';
import { describeConnection, type ClientToolInfo, type PostgresConnection } from '../postgres';
import { closeClient, connectBounded } from './bounded';
import type { SlotReport } from './manifest';
import {
	readServerState,
	readSlot,
	serverProblems,
	slotNameFor,
	type PreflightProblem,
	type ServerState,
} from './server';
import { probeReplication } from './slot';
import { findPitrClient, findServerBinaries, type ServerBinaries } from './tools';

export interface PreflightRequest {
	connection: PostgresConnection;
	environment: string;
	/** Default: slotNameFor(environment). */
	slotName?: string;
	/** Also look for the server programs a restore test needs on this host. */
	restoreTest?: { serverBinFolder?: string };
	signal?: AbortSignal;
}

export interface PreflightReport {
	ok: boolean;
	/** Each requirement with its outcome, in the order they were checked. */
	checks: Array<{ check: string; passed: boolean; detail: string; hint?: string }>;
	state?: ServerState;
	slot?: SlotReport;
	tools: { pgBasebackup?: ClientToolInfo; pgReceivewal?: ClientToolInfo; server?: ServerBinaries };
}

/**
 * Everything point-in-time backups need, checked without changing anything on the server:
 * wal_level, WAL senders and slots, the role's REPLICATION attribute, a replication login
 * (pg_hba.conf), the client programs of the server's major, and for restore tests the server
 * programs of that major on this host. Each failed check says what to change.
 */
export async function preflight(request: PreflightRequest): Promise<PreflightReport> {
	const { connection } = request;
	const report: PreflightReport = { ok: true, checks: [], tools: {} };
	const fail = (problem: PreflightProblem) => {
		report.ok = false;
		report.checks.push({ check: problem.check, passed: false, detail: problem.message, hint: problem.hint });
	};
	const pass = (check: string, detail: string) => report.checks.push({ check, passed: true, detail });
	const fromError = (check: string, error: unknown) => {
		if (!(error instanceof BackupError)) throw error;
		fail({ check, message: error.message, hint: error.hint });
	};

	const client = await connectBounded(connection);
	try {
		report.state = await readServerState(client);
		const slotName = request.slotName ?? slotNameFor(request.environment);
		report.slot = await readSlot(client, slotName);
	} finally {
		await closeClient(client);
	}
	const state = report.state;
	const problems = serverProblems(state, connection);
	for (const problem of problems) fail(problem);
	if (!problems.length)
		pass(
			'server',
			`PostgreSQL ${state.serverVersion} primary, wal_level ${state.walLevel}, max_wal_senders ${state.maxWalSenders}, role ${state.superuser ? 'superuser' : 'with REPLICATION'}`,
		);
	if (state.maxSlotWalKeepBytes < 0)
		report.checks.push({
			check: 'max_slot_wal_keep_size',
			passed: true,
			detail: 'unlimited: if the incremental runs stop, the slot keeps WAL until the server disk is full',
			hint: "Consider max_slot_wal_keep_size (e.g. ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; SELECT pg_reload_conf();): the chain breaks instead of the server.",
		});

	try {
		report.tools.pgBasebackup = await findPitrClient('pg_basebackup', state.major);
		report.tools.pgReceivewal = await findPitrClient('pg_receivewal', state.major);
		pass(
			'client programs',
			`${report.tools.pgBasebackup.path} ${report.tools.pgBasebackup.version}, ${report.tools.pgReceivewal.path}`,
		);
	} catch (error) {
		fromError('client programs', error);
	}
	if (report.tools.pgReceivewal && !problems.some((p) => p.check === 'REPLICATION' || p.check === 'max_wal_senders')) {
		try {
			await probeReplication(connection, report.tools.pgReceivewal, request.signal);
			pass('replication connection', `pg_hba.conf allows replication for "${connection.user}" from this host`);
		} catch (error) {
			fromError('replication connection', error);
		}
	}
	if (request.restoreTest) {
		try {
			report.tools.server = await findServerBinaries(state.major, request.restoreTest.serverBinFolder);
			pass('server programs', `PostgreSQL ${report.tools.server.version} in ${report.tools.server.binDir}`);
		} catch (error) {
			fromError('server programs', error);
		}
	}
	return report;
}

/** Throws the failed checks of a report as one error naming each fix. */
export function requirePreflight(report: PreflightReport, connection: PostgresConnection): void {
	const failed = report.checks.filter((c) => !c.passed);
	if (!failed.length) return;
	throw new BackupError(
		failed.some((c) => /pg_hba|REPLICATION|may not/.test(c.detail)) ? 'PERMISSION_DENIED' : 'UNSUPPORTED_OPTION',
		`${describeConnection(connection)} is not ready for point-in-time backups: ${failed.map((c) => `${c.check}: ${c.detail}`).join('; ')}`,
		failed
			.map((c) => c.hint)
			.filter(Boolean)
			.join(' '),
	);
}
