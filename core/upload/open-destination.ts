import type { Destination, DestinationConfig } from '../destinations/destination';
import { FtpDestination } from '../destinations/ftp';
import { GoogleDriveDestination } from '../destinations/google-drive';
import { LocalFolderDestination } from '../destinations/local-folder';
import { SftpDestination } from '../destinations/sftp';

/** The Destination for a configuration; nothing connects until the first call. */
export function openDestination(config: DestinationConfig): Destination {
	switch (config.type) {
		case 'local':
			return new LocalFolderDestination(config);
		case 'sftp':
			return new SftpDestination(config);
		case 'ftp':
			return new FtpDestination(config);
		case 'google-drive':
			return new GoogleDriveDestination(config);
	}
}
