import { main } from './program.js';

void main(process.argv.slice(2));
