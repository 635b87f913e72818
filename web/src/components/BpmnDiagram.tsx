// The request's BPMN diagram (bpmn-js viewer, pan and zoom) with the steps already done and the
// current ones highlighted. Loaded lazily: it is the largest library in the UI.
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import { Alert, Flex } from "antd";
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

interface Props {
  xml: string;
  done: string[];
  active: string[];
}

interface Canvas {
  addMarker: (id: string, marker: string) => void;
  zoom: (level: string) => void;
}
interface Registry {
  get: (id: string) => unknown;
}

export default function BpmnDiagram({ xml, done, active }: Props) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  const doneKey = done.join(",");
  const activeKey = active.join(",");

  useEffect(() => {
    if (!ref.current) return;
    const viewer = new NavigatedViewer({ container: ref.current });
    let live = true;
    viewer
      .importXML(xml)
      .then(() => {
        if (!live) return;
        const canvas = viewer.get<Canvas>("canvas");
        const registry = viewer.get<Registry>("elementRegistry");
        const mark = (ids: string[], marker: string) =>
          ids.forEach((id) => registry.get(id) && canvas.addMarker(id, marker));
        mark(doneKey ? doneKey.split(",") : [], "path-done");
        mark(activeKey ? activeKey.split(",") : [], "path-active");
        canvas.zoom("fit-viewport");
      })
      .catch(() => live && setFailed(true));
    return () => {
      live = false;
      viewer.destroy();
    };
  }, [xml, doneKey, activeKey]);

  if (failed) return <Alert type="warning" showIcon message={t("instance.diagramFailed")} />;
  return (
    <div>
      <div ref={ref} className="bpmn-canvas" role="img" aria-label={t("instance.diagram")} />
      <Flex gap={16} className="bpmn-legend" aria-hidden>
        <span>
          <i className="legend-swatch done" /> {t("instance.diagramLegendDone")}
        </span>
        <span>
          <i className="legend-swatch active" /> {t("instance.diagramLegendActive")}
        </span>
      </Flex>
    </div>
  );
}
