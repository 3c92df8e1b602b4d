import type { Model } from 'girder';

interface Input {
  name?: string;
}

/** {"name": "Ada"} → {"greeting": "Hello, Ada!"} */
export default class Hello implements Model {
  predict({ name = 'world' }: Input) {
    console.log(`Greeting ${name}`); // shows up in `girder logs` with this request's id
    return { greeting: `Hello, ${name}!` };
  }
}
