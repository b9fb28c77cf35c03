/**
 * Restore (real recovery) of SQL Server sets: the names involved, the guards, and the swap that
 * puts a restored and checked copy under the target's name. The copy itself is restored and
 * checked by chain-restore.ts under the staging name; only then does anything touch the target.
 */
import type { SqlServerSourceFacts } from '../../../backup-set/sqlserver-manifest';
import { BackupError } from '../../../errors';
import type { Logger } from '../../../logger';
import { check, type CheckResult } from '../../../checks/check';
import { isSqlError, rowsOf, type SqlRunner } from '../runner';
import type { ServerFacts } from '../server-facts';
import {
	DATABASE_STATE_SQL,
	dropDatabaseStatement,
	moveAsideStatement,
	renameDatabaseStatement,
	setUserAccessStatement,
	type UserAccess,
} from '../tsql';
import { STAGING_PREFIX } from '../../../restore-shared/prefixes';

/** What a replaced target is renamed to until the restored copy has its name; then dropped. */
export const SQLSERVER_ASIDE_PREFIX = 'totvs_old_';

const MAX_NAME = 128;
export const stagingNameFor = (backupId: string) => `${STAGING_PREFIX}${backupId}`.slice(0, MAX_NAME);
export const asideNameFor = (target: string) => `${SQLSERVER_ASIDE_PREFIX}${target}`.slice(0, MAX_NAME);

const SYSTEM_DATABASES = new Set(['master', 'model', 'msdb', 'tempdb', 'distribution', 'resource']);

/** A database name the user typed: 1 to 128 characters, no NUL (quoteName does the rest), not a system database. */
export function checkTargetName(name: string): string {
	const trimmed = name.trim();
	if (!trimmed || trimmed.length > MAX_NAME || trimmed.includes('\0'))
		throw new BackupError(
			'INVALID_INPUT',
			`"${name.slice(0, 40)}" cannot be used as a SQL Server database name`,
			`Give a name of 1 to ${MAX_NAME} characters, for example PROTHEUS_RESTORED.`,
		);
	if (SYSTEM_DATABASES.has(trimmed.toLowerCase()))
		throw new BackupError(
			'INVALID_INPUT',
			`"${trimmed}" is a SQL Server system database`,
			'Restore a TOTVS set into a database of its own, for example PROTHEUS_RESTORED.',
		);
	return trimmed;
}

export interface DatabaseState {
	/** ONLINE, RESTORING, RECOVERING, RECOVERY_PENDING, SUSPECT, EMERGENCY, OFFLINE. */
	state: string;
	userAccess: UserAccess;
}

/** The database's state, or undefined when no database has that name. */
export async function readDatabaseState(runner: SqlRunner, name: string): Promise<DatabaseState | undefined> {
	const [row] = rowsOf<{ state: unknown; userAccess: unknown }>(await runner.query(DATABASE_STATE_SQL, { name }));
	return row ? { state: String(row.state), userAccess: String(row.userAccess) as UserAccess } : undefined;
}

/** A server as the credential names it, and as a set's manifest records its source. */
export interface SqlServerAddress {
	server: string;
	port: number | null;
	instance: string | null;
}

/**
 * True when `target` on the restore server is the database the set was taken from. SQL Server
 * compares database names without case on almost every server, so this does too; the server is
 * the same when @@SERVERNAME or the credential's server, instance and port match (refusing too
 * much is safe).
 */
export function isSourceDatabase(
	source: SqlServerSourceFacts,
	restoreServer: Pick<ServerFacts, 'serverName'>,
	address: SqlServerAddress | undefined,
	target: string,
): boolean {
	if (target.toLowerCase() !== source.database.toLowerCase()) return false;
	const sameName =
		!!restoreServer.serverName && restoreServer.serverName.toLowerCase() === source.serverName.toLowerCase();
	const sameAddress =
		!!address &&
		address.server.toLowerCase() === source.host.toLowerCase() &&
		(address.instance ?? '').toLowerCase() === (source.instance ?? '').toLowerCase() &&
		(address.port ?? 0) === (source.port ?? 0);
	return sameName || sameAddress;
}

const errorText = (error: unknown) =>
	isSqlError(error) ? error.errors.map((m) => `Msg ${m.number}: ${m.message}`).join(' ') : (error as Error).message;

export interface SwapRequest {
	runner: SqlRunner;
	/** The restored copy that passed every check. */
	staging: string;
	target: string;
	/** The target's state when it exists (Replace), undefined for a new database. */
	existing?: DatabaseState;
	aside: string;
	log: Logger;
}

/**
 * Puts the checked staging copy under the target's name. A target that exists is first renamed
 * aside (its sessions thrown out: SINGLE_USER WITH ROLLBACK IMMEDIATE, then its access mode given
 * back), the copy renamed to the target, and only then the old database dropped. When a step
 * fails, what was renamed is renamed back and the copy dropped: the target is as it was.
 * Returns the 'cleanup' check of the replaced database (undefined for a new target).
 */
export async function swapIntoTarget(r: SwapRequest): Promise<CheckResult | undefined> {
	const { runner, staging, target, existing, aside, log } = r;
	const where = runner.description;
	const run = (sql: string) => runner.query(sql, {}, { timeoutMs: 0 });
	const dropStaging = () =>
		run(dropDatabaseStatement(staging)).catch((error: unknown) =>
			log.warn(`Could not drop "${staging}": ${errorText(error)}`),
		);
	const giveAccessBack = async (name: string) => {
		if (existing && existing.userAccess !== 'SINGLE_USER') await run(setUserAccessStatement(name, existing.userAccess));
	};

	if (existing) {
		log.warn(
			`Replacing database "${target}" on ${where}: its sessions are disconnected and it is renamed to "${aside}"`,
		);
		try {
			await run(moveAsideStatement(target, aside));
		} catch (error) {
			// SINGLE_USER may have taken effect before MODIFY NAME failed.
			await giveAccessBack(target).catch(() => undefined);
			await dropStaging();
			throw new BackupError(
				'RESTORE_FAILED',
				`Cannot rename database "${target}" aside on ${where} to replace it: ${errorText(error)}`,
				`"${target}" keeps its name and data (its sessions were disconnected); the restored copy "${staging}" was dropped. The restore login needs ALTER permission on "${target}" (its owner, dbcreator or sysadmin), and no other session may hold it exclusively.`,
				{ cause: error },
			);
		}
		await giveAccessBack(aside).catch((error: unknown) =>
			log.warn(`Could not set "${aside}" back to ${existing.userAccess}: ${errorText(error)}`),
		);
	}

	try {
		await run(renameDatabaseStatement(staging, target));
	} catch (error) {
		if (existing) {
			try {
				await run(renameDatabaseStatement(aside, target));
			} catch (backError) {
				throw new BackupError(
					'RESTORE_FAILED',
					`The restored copy "${staging}" could not take the name "${target}" on ${where} (${errorText(error)}), and the old database, renamed "${aside}", could not get its name back (${errorText(backError)})`,
					`Nothing was dropped. Rename the old database back (ALTER DATABASE [${aside}] MODIFY NAME = [${target}]) or the restored copy into place, then drop the one you do not want.`,
					{ cause: error },
				);
			}
		}
		await dropStaging();
		throw new BackupError(
			'RESTORE_FAILED',
			`The restored copy passed every check but could not be renamed from "${staging}" to "${target}" on ${where}: ${errorText(error)}`,
			`${existing ? `"${target}" has its old name and data back` : `"${target}" was not created`}; the restored copy was dropped. Check that no session uses "${staging}" and that the login may alter it, then run again.`,
			{ cause: error },
		);
	}
	if (!existing) return undefined;
	const expected = `the replaced database (renamed "${aside}") dropped`;
	try {
		await run(dropDatabaseStatement(aside));
		return check(
			'cleanup',
			true,
			expected,
			'dropped',
			`The database "${target}" held before was renamed "${aside}" and dropped after the restored copy took its name`,
		);
	} catch (error) {
		log.warn(`Could not drop "${aside}": ${errorText(error)}`);
		return check(
			'cleanup',
			false,
			expected,
			'still there',
			`"${target}" now holds the restored copy, but the database it replaced is still there as "${aside}" (DROP DATABASE failed: ${errorText(error)}). Drop it by hand to free its disk space.`,
		);
	}
}
