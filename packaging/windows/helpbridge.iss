; HelpBridge for Windows: one per-user installer for the portal and the agent console.
;
; Build on Windows (docs/packaging.md):
;   1. scripts\build.sh's steps on Windows: build both PyInstaller bundles
;      (py -m PyInstaller packaging\helpbridge.spec / helpbridge-agent.spec after
;      compiling the translations into build\translations) -> dist\helpbridge\,
;      dist\helpbridge-agent\
;   2. optional: put the vendor's branding.json (and its logo) into dist\helpbridge\
;   3. "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 packaging\windows\helpbridge.iss
;      -> dist\installer\HelpBridge-0.1.0-setup.exe
;   4. sign the setup and the two .exe files with the vendor's code-signing
;      certificate (signtool), see docs/updates.md.
;
; No administrator rights: installs into %LOCALAPPDATA%\Programs\HelpBridge and
; registers the helpbridge: URL protocol under HKCU\Software\Classes. The
; uninstaller removes both; the user's data (%LOCALAPPDATA%\HelpBridge) is kept.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "HelpBridge"
#define Publisher "HelpBridge developers"
#define Dist "..\..\dist"

[Setup]
; Keep the AppId for every release: it is how upgrades find the installation.
AppId={{6F1C3A52-7E0B-4C1D-9B2E-48A1D5C0B7E3}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#Publisher}
VersionInfoVersion={#AppVersion}
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=
DefaultDirName={localappdata}\Programs\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UsePreviousAppDir=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Dist}\installer
OutputBaseFilename=HelpBridge-{#AppVersion}-setup
SetupIconFile=..\..\build\icons\helpbridge.ico
UninstallDisplayIcon={app}\helpbridge\helpbridge.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Close a running portal before files are replaced (Restart Manager).
CloseApplications=yes
RestartApplications=no
ChangesAssociations=yes

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"
Name: "zh_CN"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "agent"; Description: "Agent console (for support staff)"; Flags: unchecked

[Files]
Source: "{#Dist}\helpbridge\*"; DestDir: "{app}\helpbridge"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "{#Dist}\helpbridge-agent\*"; DestDir: "{app}\helpbridge-agent"; Flags: ignoreversion recursesubdirs createallsubdirs; Tasks: agent

[InstallDelete]
; A new release replaces the whole bundle: no stale modules from the old one.
Type: filesandordirs; Name: "{app}\helpbridge\_internal"
Type: filesandordirs; Name: "{app}\helpbridge-agent\_internal"

[Icons]
Name: "{userprograms}\{#AppName}\{#AppName}"; Filename: "{app}\helpbridge\helpbridge.exe"; WorkingDir: "{app}\helpbridge"
Name: "{userprograms}\{#AppName}\{#AppName} Agent Console"; Filename: "{app}\helpbridge-agent\helpbridge-agent.exe"; WorkingDir: "{app}\helpbridge-agent"; Tasks: agent
Name: "{userprograms}\{#AppName}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{userdesktop}\{#AppName}"; Filename: "{app}\helpbridge\helpbridge.exe"; Tasks: desktopicon

[Registry]
; helpbridge:// links open the portal (per user; removed on uninstall).
Root: HKCU; Subkey: "Software\Classes\helpbridge"; ValueType: string; ValueName: ""; ValueData: "URL:HelpBridge Protocol"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\helpbridge"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""
Root: HKCU; Subkey: "Software\Classes\helpbridge\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: """{app}\helpbridge\helpbridge.exe"",0"
Root: HKCU; Subkey: "Software\Classes\helpbridge\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\helpbridge\helpbridge.exe"" ""%1"""
; Lets host applications find the portal without searching the disk.
Root: HKCU; Subkey: "Software\HelpBridge"; ValueType: string; ValueName: "Program"; ValueData: "{app}\helpbridge\helpbridge.exe"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\HelpBridge"; ValueType: string; ValueName: "Version"; ValueData: "{#AppVersion}"

[Run]
Filename: "{app}\helpbridge\helpbridge.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
Type: filesandordirs; Name: "{app}\helpbridge"
Type: filesandordirs; Name: "{app}\helpbridge-agent"
