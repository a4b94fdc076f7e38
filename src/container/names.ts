// Container names: validation with Docker's rule and generated names in
// Docker's `adjective_surname` style (our own word lists).
import { randomInt } from 'node:crypto';
import { InvalidParameterError } from '../lib/errors.js';

const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validateName(name: string): string {
  if (!VALID_NAME.test(name)) {
    throw new InvalidParameterError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.startsWith('/') ? name : '/' + name;
}

const ADJECTIVES = [
  'agile', 'amber', 'bold', 'brave', 'bright', 'calm', 'clever', 'cosmic', 'crisp', 'daring',
  'eager', 'early', 'fair', 'fancy', 'fervent', 'gentle', 'golden', 'happy', 'hardy', 'humble',
  'jolly', 'keen', 'kind', 'lively', 'lucid', 'merry', 'mighty', 'modest', 'nimble', 'noble',
  'patient', 'plucky', 'polite', 'proud', 'quick', 'quiet', 'rapid', 'serene', 'sharp', 'shiny',
  'silent', 'sleek', 'steady', 'stoic', 'sturdy', 'sunny', 'swift', 'tender', 'tidy', 'vivid',
  'warm', 'wise', 'witty', 'zealous',
];

// Navigators, shipbuilders and harbour engineers: a berth needs a harbour.
const NOUNS = [
  'anchor', 'beacon', 'bollard', 'bosun', 'buoy', 'cabin', 'capstan', 'cargo', 'compass', 'cutter',
  'dinghy', 'dock', 'ferry', 'frigate', 'galley', 'harbor', 'helm', 'hull', 'jetty', 'keel',
  'ketch', 'lantern', 'lighthouse', 'mariner', 'mast', 'mooring', 'navigator', 'pier', 'pilot', 'port',
  'quay', 'rudder', 'sailor', 'schooner', 'sextant', 'skiff', 'sloop', 'starboard', 'tide', 'tugboat',
  'voyager', 'wharf', 'yacht', 'yawl',
];

export function generateName(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`;
}
