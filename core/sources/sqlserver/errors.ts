import { BackupError } from '../../errors';
import { describeSqlServer, type SqlServerConnection } from './connection';
import { isSqlError } from './runner';

type Where = Pick<
	SqlServerConnection,
	'server' | 'port' | 'instance' | 'database' | 'user' | 'domain' | 'authentication'
>;

const serverOf = (c: Where) => (c.instance ? `${c.server}\\${c.instance}` : `${c.server}:${c.port}`);

/** A failed connection (driver code or server error number) as a BackupError saying what to fix. */
export function connectionError(error: unknown, c: Where): unknown {
	const e = error as {
		code?: string;
		number?: number;
		message?: string;
		originalError?: { number?: number; message?: string };
	};
	const number = e.number ?? e.originalError?.number;
	const detail = e.originalError?.message ?? e.message ?? String(error);
	const where = serverOf(c);
	if (number === 18456 || /Login failed/i.test(detail))
		return new BackupError(
			'AUTH_FAILED',
			`SQL Server ${where} refused the login of "${c.user}"`,
			c.authentication === 'ntlm'
				? 'Check the Windows user, domain and password in the TOTVS SQL Server credential, and that the Windows login exists on the server.'
				: 'Check the user and password in the TOTVS SQL Server credential, and that the server allows SQL Server authentication (mixed mode).',
			{ cause: error },
		);
	if (number === 4060 || number === 911)
		return new BackupError(
			'DATABASE_NOT_FOUND',
			`Database "${c.database}" does not exist on ${where}, or "${c.user}" cannot open it`,
			'Check the database name in the credential (Protheus databases are often called PROTHEUS, P12 or DADOSADV) and that the login has a user in it.',
			{ cause: error },
		);
	if (/certificate|self[- ]signed|SSL|TLS/i.test(detail))
		return new BackupError(
			'TLS_CERTIFICATE',
			`TLS with SQL Server ${where} failed: ${detail}`,
			'Install a certificate the n8n host trusts on SQL Server (its name must match the server name you entered), or, on a trusted network only, turn on "Trust Server Certificate".',
			{ cause: error },
		);
	if (e.code === 'EINSTLOOKUP')
		return new BackupError(
			'UNREACHABLE',
			`Cannot find instance "${c.instance}" on ${c.server}: ${detail}`,
			"Check the instance name, that the SQL Server Browser service runs and UDP 1434 is open, or give the instance's TCP port instead of its name.",
			{ cause: error },
		);
	if (
		e.code === 'ESOCKET' ||
		e.code === 'ETIMEOUT' ||
		/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|timeout/i.test(detail)
	)
		return new BackupError(
			'UNREACHABLE',
			`Cannot reach SQL Server ${where}: ${detail}`,
			'Check server and port in the credential, that SQL Server accepts TCP/IP connections (SQL Server Configuration Manager), and that no firewall blocks n8n.',
			{ cause: error },
		);
	return error;
}

/** Server error numbers a backup, restore or query can end with, mapped to what the user should do. */
export function sqlServerError(error: unknown, c: Where, doing = 'The statement'): unknown {
	if (!isSqlError(error)) return connectionError(error, c);
	const where = describeSqlServer(c);
	const text = error.errors.map((m) => `Msg ${m.number}: ${m.message}`).join(' ');
	const numbers = new Set(error.errors.map((m) => m.number));
	const has = (...n: number[]) => n.some((x) => numbers.has(x));
	if (has(262, 229, 230, 916, 3110, 15247, 300))
		return new BackupError(
			'PERMISSION_DENIED',
			`${doing} was refused on ${where}: ${text}`,
			'Backups need db_backupoperator in the database (or sysadmin); restore tests need dbcreator (or sysadmin) and read access to the backup folder; VERIFYONLY and HEADERONLY need the same as restore (CREATE DATABASE permission).',
			{ cause: error },
		);
	if (has(3201, 3203, 3013) && /Operating system error/i.test(text))
		return new BackupError(
			'DUMP_FAILED',
			`${doing} on ${where} could not use the backup file: ${text}`,
			'The SQL Server service account must be able to write and read the backup folder as the server sees it (for a share: the share and NTFS permissions of that account, or of the computer account for NT SERVICE accounts). Check the "Backup Folder (SQL Server Path)" path exists on the server.',
			{ cause: error },
		);
	if (has(4208))
		return new BackupError(
			'UNSUPPORTED_OPTION',
			`${doing} failed on ${where}: the database uses the SIMPLE recovery model, which keeps no log to back up`,
			'Use full or differential backups, or switch the database to the FULL recovery model (ALTER DATABASE … SET RECOVERY FULL) and take a full backup to start the log chain.',
			{ cause: error },
		);
	if (has(3035, 4214))
		return new BackupError(
			'BACKUP_CHAIN_BROKEN',
			`${doing} failed on ${where}: there is no full backup to base it on (${text})`,
			'Take a full backup first, or turn on "Promote to Full When No Base" so the node makes a full instead.',
			{ cause: error },
		);
	if (has(3241, 3242, 3183, 3189))
		return new BackupError(
			'RESTORE_FAILED',
			`${doing} failed on ${where}: ${text}`,
			'The backup file is unreadable or damaged: make a new backup and keep this one for investigation.',
			{ cause: error },
		);
	return new BackupError(
		'DUMP_FAILED',
		`${doing} failed on ${where}: ${text}`,
		"Read SQL Server's message above; the SQL Server error log on the server has more detail.",
		{ cause: error },
	);
}
