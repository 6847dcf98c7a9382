import { InitialSchema1764000000000 } from './1764000000000-InitialSchema';
import { ConstructAndKeys1764000100000 } from './1764000100000-ConstructAndKeys';
import { Rotations1764000200000 } from './1764000200000-Rotations';
import { Security1764000300000 } from './1764000300000-Security';
import { Middlebox1764000400000 } from './1764000400000-Middlebox';

/** Every migration, in order. A new migration is a new file and a new line here. */
export const CIB_MIGRATIONS = [InitialSchema1764000000000, ConstructAndKeys1764000100000, Rotations1764000200000, Security1764000300000, Middlebox1764000400000];
