// Every kind the client knows; importing this module registers them all.
import './info.js';
import './prompt.js';
import './closing.js';
import './apology.js';
import './boundary.js';
import './listening.js';
import './safety.js';
import './commitment.js';
import './checkin.js';
import './appreciation.js';

export { kindFor } from './registry.js';
