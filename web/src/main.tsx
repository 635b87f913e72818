// antd v5 renders its static helpers (message, Modal) through React 18 APIs; this official
// patch makes them work on React 19.
import "@ant-design/v5-patch-for-react-19";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "./i18n";
import { App } from "./App";
import "./styles.css";

// The mount point is #app, not #root: rjsf gives its form's root fieldset id="root".
createRoot(document.getElementById("app") as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
