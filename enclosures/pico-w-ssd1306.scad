// pandascreen case: Raspberry Pi Pico W + 0.96" SSD1306 OLED + two buttons.
// Board: boards/pico-w-ssd1306.toml. Render: openscad -o case.stl pico-w-ssd1306.scad
use <lib/case.scad>

// ---- print parameters --------------------------------------------------------------------
wall = 1.8;           // side wall thickness
clearance = 1.0;      // gap between PCB / screen and inner wall
floor_t = 1.6;        // floor thickness
lid_t = 1.8;          // lid plate thickness
lip_h = 3.0;          // locating lip under the lid
fit = 0.25;           // lip clearance inside the tray
corner_r = 3.0;       // rounded vertical edges
gap = 8.0;            // distance between tray and lid on the print bed
standoff_h = 3.0;     // PCB height above the floor
inner_h = 14.0;       // floor to lid underside (Pico + wiring + OLED module)
button_d = 7.0;       // hole for a 6x6 mm tactile switch cap
window_margin = 0.5;  // extra window around the visible screen area

// ---- board outline (keep in sync with the board TOML [outline]) ------------------------------
pcb = [51, 21];
pcb_t = 1.0;
holes = [[2.0, 4.8], [49.0, 4.8], [2.0, 16.2], [49.0, 16.2]];
hole_d = 2.1;
screen_module = [27, 27];
screen_active = [22, 11];

// ---- layout ------------------------------------------------------------------------------
inner = [pcb[0] + 2 * clearance, max(pcb[1], screen_module[1]) + 2 * clearance];
pcb_pos = [clearance, (inner[1] - pcb[1]) / 2];
screen_pos = [clearance + 1, (inner[1] - screen_module[1]) / 2];
active_offset = [(screen_module[0] - screen_active[0]) / 2, (screen_module[1] - screen_active[1]) / 2 + 2];
buttons = [[screen_pos[0] + screen_module[0] + 7, inner[1] / 2],
           [screen_pos[0] + screen_module[0] + 17, inner[1] / 2]];
pcb_top = standoff_h + pcb_t;
// [side, offset, z, width, height]: micro-USB on the left short edge
ports = [[2, pcb_pos[1] + pcb[1] / 2, pcb_top - 0.5, 10, 5]];

pandascreen_case(inner, inner_h, wall, floor_t, lid_t, lip_h, fit, corner_r, gap,
                 pcb_pos, holes, hole_d, standoff_h, ports,
                 screen_pos, screen_module, screen_active, active_offset, window_margin,
                 buttons, button_d);
