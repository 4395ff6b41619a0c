// pandascreen case: Raspberry Pi Zero 2 W + 1.3" SH1106 128x64 OLED (I2C) + two buttons.
// Board: boards/pi-zero-2w-sh1106.toml. Render: openscad -o case.stl pi-zero-2w-sh1106.scad
use <lib/case.scad>

// ---- print parameters --------------------------------------------------------------------
wall = 2.0;           // side wall thickness
clearance = 1.0;      // gap between PCB and inner wall on every side
floor_t = 2.0;        // floor thickness
lid_t = 2.0;          // lid plate thickness
lip_h = 3.0;          // locating lip under the lid
fit = 0.25;           // lip clearance inside the tray
corner_r = 3.0;       // rounded vertical edges
gap = 8.0;            // distance between tray and lid on the print bed
standoff_h = 4.0;     // PCB height above the floor
inner_h = 16.0;       // floor to lid underside (Pi + header + OLED module)
button_d = 7.0;       // hole for a 6x6 mm tactile switch cap
window_margin = 0.5;  // extra window around the visible screen area

// ---- board outline (keep in sync with the board TOML [outline]) ------------------------------
pcb = [65, 30];
pcb_t = 1.4;
holes = [[3.5, 3.5], [61.5, 3.5], [3.5, 26.5], [61.5, 26.5]];
hole_d = 2.75;
screen_module = [35.4, 33.5];
screen_active = [29.4, 14.7];

// ---- layout ------------------------------------------------------------------------------
inner = [pcb[0] + 2 * clearance, max(pcb[1], screen_module[1]) + 2 * clearance];
pcb_pos = [clearance, (inner[1] - pcb[1]) / 2];
screen_pos = [clearance + 2, (inner[1] - screen_module[1]) / 2];
active_offset = [(screen_module[0] - screen_active[0]) / 2, (screen_module[1] - screen_active[1]) / 2 + 3];
buttons = [[screen_pos[0] + screen_module[0] + 8, inner[1] / 2],
           [screen_pos[0] + screen_module[0] + 20, inner[1] / 2]];
pcb_top = standoff_h + pcb_t;
// [side, offset, z, width, height]: mini-HDMI, USB data, USB power on the front, micro-SD left
ports = [[0, pcb_pos[0] + 12.4, pcb_top - 0.5, 12, 5],
         [0, pcb_pos[0] + 41.4, pcb_top - 0.5, 9, 4.5],
         [0, pcb_pos[0] + 54.0, pcb_top - 0.5, 9, 4.5],
         [2, pcb_pos[1] + 16.9, standoff_h - 1.5, 13, 3.5]];

pandascreen_case(inner, inner_h, wall, floor_t, lid_t, lip_h, fit, corner_r, gap,
                 pcb_pos, holes, hole_d, standoff_h, ports,
                 screen_pos, screen_module, screen_active, active_offset, window_margin,
                 buttons, button_d);
