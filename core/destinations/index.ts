/**
 * The destinations' entry point: everything outside core/destinations (nodes, set transfer,
 * locking, restore test) imports from here, never from a backend's folder. The registry turns
 * a configuration into a Destination and tests it.
 */
export * from './destination';
export { openDestination, checkDestination, parseServiceAccountKey, type DestinationCheck } from './registry';
export { LocalFolderDestination } from './local/local-folder';
export { SftpDestination } from './sftp/sftp';
export { FtpDestination } from './ftp/ftp';
export { GoogleDriveDestination, DRIVE_SCOPE } from './google-drive/google-drive';
