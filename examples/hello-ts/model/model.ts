import type { Model, ModelContext } from 'girder';

interface Input {
  name?: string;
}

/** {"name": "Ada"} → {"greeting": "Hello, Ada!"} */
export default class Hello implements Model {
  predict({ name = 'world' }: Input, ctx: ModelContext) {
    console.log(`Greeting ${name}`); // shows up in `girder logs` under ctx.requestId
    return { greeting: `Hello, ${name}!` };
  }
}
