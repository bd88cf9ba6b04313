// A page that could not be shown (an unknown burst, a mistyped address): the header still shows the server.
import { connect } from "./core.js";

connect();
