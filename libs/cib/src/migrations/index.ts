import { InitialSchema1764000000000 } from './1764000000000-InitialSchema';

/** Every migration, in order. A new migration is a new file and a new line here. */
export const CIB_MIGRATIONS = [InitialSchema1764000000000];
